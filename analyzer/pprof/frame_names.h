/* frame_names: how the heap profile spells its frames (types, fields, roots)
 * so that go tool pprof shows each as written and no two merge.
 *
 * pprof "demangles" every function whose system_name equals its name
 * (internal/symbolizer: demangleSingleFunction): a name holding any of
 * "<>[]" or "::" is taken for demangled C++ and loses every (...) and <...>
 * part, so map<string,*main.Record>.dirPtr and map<int,int>.dirPtr both
 * became "map.dirPtr", one node, and [3]func() int became "[3]func int".
 * Two things keep names whole:
 * - the profile gives no system_name: a function whose name differs from
 *   its system name is "already demangled" and left alone, in every
 *   -symbolize mode (force only restores a system name that is not empty);
 * - <...>, the compiler's DWARF spelling of the runtime's instantiations
 *   (map<K,V>, table<K,V>, hchan<T>), is spelled [...], Go's own syntax for
 *   instantiations, which pprof (and viewers that strip C++ templates)
 *   keep: map[string,*main.Record].dirPtr.  Channel arrows ("<-chan T",
 *   "chan<- T") are not brackets and stay.
 */
#ifndef GOMORTEM_PPROF_FRAME_NAMES_H
#define GOMORTEM_PPROF_FRAME_NAMES_H

/* Respell NAME in place: each '<' that opens a pair (not "<-") and its
 * matching '>' become '[' and ']'; the length does not change. */
void pprof_frame_spelling(char *name);

#endif
