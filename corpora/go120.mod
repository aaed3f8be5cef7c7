// The module file for toolchains older than go.mod's `go 1.22` line (Go 1.20
// and 1.21, which refuse a newer go line): corpora/generate passes it with
// -modfile. go.mod stays at 1.22 so every newer toolchain builds exactly as
// before (same language version, same GODEBUG defaults).
module gomortem/corpora

go 1.20
