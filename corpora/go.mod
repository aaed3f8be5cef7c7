module gomortem/corpora

go 1.22
