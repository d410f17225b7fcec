# Sourced by the bench scripts: builds `graft` in release mode (in $SCRATCH_PATH when set, e.g. a second build
# folder) and sets $graft to the binary.
build=(-c release)
[[ -n "${SCRATCH_PATH:-}" ]] && build+=(--scratch-path "$SCRATCH_PATH")
swift build "${build[@]}" --product graft >/dev/null
graft="$(swift build "${build[@]}" --show-bin-path)/graft"
