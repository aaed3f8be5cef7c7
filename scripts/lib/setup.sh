# Sourced by scripts/demo and scripts/test: install what a fresh Debian or
# Ubuntu machine lacks, and check that Go is there.

# Debian packages gomortem builds, tests and demos with.
GOMORTEM_PACKAGES=(
	build-essential cmake pkg-config       # compiler and build
	libdw-dev libelf-dev elfutils          # ELF and DWARF (libdw, libelf)
	libsqlite3-dev sqlite3                 # storage
	zlib1g-dev                             # gzip of pprof profiles
	libzstd-dev liblz4-dev liblzma-dev     # compressed cores (systemd-coredump)
	zstd lz4 xz-utils attr                 # compressing cores, setting xattrs in tests
	libunwind-dev                          # libunwind-coredump
	clang libclang-rt-14-dev               # sanitizers and libFuzzer for the test build
	gdb binutils util-linux                # gcore, readelf (test oracles), fallocate
	gdb-multiarch                          # the oracle of the arm64 cores' native frames
	qemu-user                              # runs the arm64 corpus (qemu-aarch64 writes its cores)
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross # the arm64 cgo scenario (C cross compiler, sysroot)
	python3 jq                             # test drivers
	chromium                               # renders the HTML report in a test
)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Install the packages of GOMORTEM_PACKAGES that are missing, with apt-get.
install_packages() {
	local missing=() pkg
	for pkg in "${GOMORTEM_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep 'install ok installed' >/dev/null ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null ||
		die "missing packages (${missing[*]}) and no apt-get to install them: install them by hand"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || die "need root or sudo to install: ${missing[*]}"
		sudo=(sudo)
	fi
	log "installing ${missing[*]}"
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# Go builds the corpus programs; it is not a Debian package we install.
check_go() {
	command -v go >/dev/null ||
		die "'go' is not on PATH: install Go 1.22 or later (https://go.dev/doc/install) and retry"
	log "using $(go version)"
}

setup_machine() {
	install_packages
	check_go
}

# configure_and_build DIR [CMAKE ARGS...]
configure_and_build() {
	local dir=$1
	shift
	cmake -S "$GOMORTEM_ROOT" -B "$GOMORTEM_ROOT/$dir" "$@" >/dev/null
	cmake --build "$GOMORTEM_ROOT/$dir" -j "$(nproc)"
}
