/* pclntab: the function table (being written). */
#include "pclntab.h"
