/* pclntab: the function table (being written). */
#ifndef GOMORTEM_PCLNTAB_H
#define GOMORTEM_PCLNTAB_H
#endif
