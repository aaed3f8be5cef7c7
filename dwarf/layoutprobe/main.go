// layoutprobe: the smallest program whose DWARF carries every runtime type,
// global and constant gomortem binds.  dwarf/gen_layouts builds it with each
// supported toolchain and records the layouts into dwarf/layout_tables.c.
// Any Go program links the same runtime; this one just prints.
package main

import "fmt"

func main() {
	fmt.Println("layoutprobe")
}
