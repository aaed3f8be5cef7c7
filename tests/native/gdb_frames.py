# Run inside gdb (-x): print every thread's physical frames, innermost first:
#   F LWP IDX 0xPC KIND SYMBOL...
# KIND is gdb's frame type (NORMAL, SIGTRAMP, ...); SYMBOL is what
# "info symbol" says about the pc the frame is symbolized at (the pc for
# frame 0 and for a frame a signal interrupted, else the return address - 1),
# or "-" if nothing.  Inlined frames are skipped: they share the pc of the
# physical frame below them.  TAILCALL frames are gdb's reconstruction, from
# DWARF call-site info, of a function that tail-called (jmp) the frame above
# it: they are printed, callers decide.
import gdb

KINDS = {gdb.NORMAL_FRAME: "NORMAL", gdb.SIGTRAMP_FRAME: "SIGTRAMP", gdb.INLINE_FRAME: "INLINE",
         gdb.TAILCALL_FRAME: "TAILCALL", gdb.DUMMY_FRAME: "DUMMY", gdb.ARCH_FRAME: "ARCH"}

for th in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
    th.switch()
    lwp = th.ptid[1]
    try:
        f = gdb.newest_frame()
    except gdb.error:
        continue
    idx, exact = 0, True
    while f is not None and idx < 256:
        if f.type() != gdb.INLINE_FRAME:
            pc = f.pc()
            lookup = pc if exact else pc - 1
            try:
                sym = gdb.execute("info symbol 0x%x" % lookup, to_string=True).strip()
            except gdb.error:
                sym = ""
            if not sym or sym.startswith("No symbol"):
                sym = "-"
            print("F %d %d 0x%x %s %s" % (lwp, idx, pc, KINDS.get(f.type(), str(f.type())), sym))
            exact = f.type() == gdb.SIGTRAMP_FRAME
            idx += 1
        try:
            f = f.older()
        except gdb.error:
            break
