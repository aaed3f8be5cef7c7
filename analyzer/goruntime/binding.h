/* binding: the Go runtime's structures as this executable lays them out.
 *
 * Every struct field, global and constant the later stages read is looked
 * up once, by name, in the executable's DWARF; versions differ only through
 * feature probes (does the field or type exist?).  Nothing here is a
 * hard-coded offset.  Where DWARF is silent (abi.Type kind numbers, the
 * abi.Name encoding), small tables keyed by the facts are used instead and
 * say so.
 */
#ifndef GOMORTEM_BINDING_H
#define GOMORTEM_BINDING_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../util/error.h"

struct gm_program;

/* A struct member: where it is and how wide (1, 2, 4 or 8 bytes for integers). */
struct gm_field {
	uint32_t offset;
	uint32_t size;
	bool present;
};

/* Read an unsigned integer field of 1, 2, 4 or 8 bytes from BASE (little-endian). */
static inline uint64_t gm_field_uint(const uint8_t *base, struct gm_field f)
{
	switch (f.size) {
	case 1: return base[f.offset];
	case 2: { uint16_t v; memcpy(&v, base + f.offset, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, base + f.offset, 4); return v; }
	default: { uint64_t v; memcpy(&v, base + f.offset, 8); return v; }
	}
}

struct gm_span_layout {
	uint64_t size;                     /* sizeof(runtime.mspan) */
	struct gm_field start_addr, npages, freeindex, nelems, alloc_bits, gcmark_bits, alloc_count,
		spanclass, state, elemsize, limit, large_type, specials, sweepgen,
		alloc_count_before_cache;
};

struct gm_type_layout {                    /* internal/abi.Type (runtime._type in 1.20) */
	uint64_t size;
	struct gm_field size_, ptr_bytes, tflag, kind, gcdata, str;
};

/* runtime.heapStatsDelta: the consistent heap statistics (mstats.go). */
struct gm_heap_stats_layout {
	uint64_t size;
	uint32_t nstats;                   /* entries in consistentHeapStats.stats */
	uint64_t stats_offset;             /* of stats within runtime.memstats */
	struct gm_field committed, released, in_heap, in_stacks, in_work_bufs, in_ptr_scalar_bits,
		tiny_alloc_count, large_alloc, large_alloc_count, large_free, large_free_count;
	struct gm_field small_alloc_count, small_free_count; /* arrays of uint64 */
};

struct gm_g_layout {                       /* runtime.g */
	uint64_t size;
	struct gm_field stack_lo, stack_hi, panic, defer, m, sched_sp, sched_pc, sched_ctxt, sched_lr,
		sched_bp, syscallsp, syscallpc, atomicstatus, goid, waitreason, waitsince, lockedm,
		parent_goid, gopc, startpc;
};

struct gm_m_layout {                       /* runtime.m */
	uint64_t size;
	struct gm_field g0, procid, gsignal, curg, id, alllink;
};

/* Specials (mheap.go) and the finalizer queue (mfinal.go). */
struct gm_specials_layout {
	struct gm_field next, offset, kind;             /* runtime.special */
	uint64_t kind_finalizer, kind_weak_handle, kind_cleanup;
	bool has_weak_handle, has_cleanup;
	struct gm_field finalizer_fn;                   /* runtime.specialfinalizer.fn */
	struct gm_field weak_handle;                    /* runtime.specialWeakHandle.handle */
	struct gm_field cleanup_words[3];               /* specialCleanup: fn, or cleanup.{call,fn,arg} */
	uint32_t ncleanup_words;
	uint64_t allfin_addr;                           /* runtime.allfin */
	struct gm_field block_alllink, block_cnt, block_fin;
	uint64_t fin_size;                              /* sizeof(runtime.finalizer) */
	uint32_t fin_capacity;                          /* entries of finBlock.fin */
	struct gm_field fin_words[4];                   /* finalizer.fn, arg, fint, ot */
};

/* The heap arena index and, without malloc headers, the arenas' pointer
 * bitmaps (mheap.go, mbitmap.go of Go 1.20/1.21). */
struct gm_arena_layout {
	struct gm_field mheap_arenas;      /* [1<<arenaL1Bits]*[1<<arenaL2Bits]*heapArena */
	uint64_t l1_bits, l2_bits;         /* runtime.arenaL1Bits, arenaL2Bits */
	uint64_t arena_bytes;              /* runtime.heapArenaBytes */
	uint64_t base_offset;              /* runtime.arenaBaseOffsetUintptr */
	struct gm_field bitmap;            /* heapArena.bitmap: 1 bit per word, in uintptrs */
	struct gm_field no_more_ptrs;      /* heapArena.noMorePtrs: 1 bit per bitmap word */
};

/* The kind-specific parts of runtime type descriptors (internal/abi.StructType,
 * ArrayType, ...) and runtime.hchan: for typing objects without DWARF.  Each
 * field is present only where the version has it. */
struct gm_descriptor_layout {
	struct gm_field struct_fields;                  /* StructType.Fields ([]StructField) */
	uint64_t struct_field_size;                     /* sizeof(abi.StructField) */
	struct gm_field field_typ, field_offset;        /* StructField.Typ, .Offset */
	struct gm_field array_elem, array_len;          /* ArrayType.Elem, .Len */
	struct gm_field slice_elem;                     /* SliceType.Elem */
	struct gm_field chan_elem;                      /* ChanType.Elem */
	struct gm_field iface_methods;                  /* InterfaceType.Methods ([]Imethod) */
	struct gm_field hchan_buf, hchan_elemtype, hchan_dataqsiz; /* runtime.hchan */
	uint64_t hchan_size;                            /* sizeof(runtime.hchan); 0 if unknown */
	/* Maps, as DWARF lays out map<K,V>, table<K,V> and hash<K,V>: the map
	 * type's Key, Elem and Group (Swiss maps, Go 1.24+) or Bucket (the
	 * classic hmap, before 1.24 and GOEXPERIMENT=noswissmap); a Swiss map's
	 * directory and a table's group array; the classic map's buckets. */
	struct gm_field map_key, map_elem, map_group, map_bucket;
	struct gm_field swiss_dir_ptr, swiss_dir_len;          /* internal/runtime/maps.Map */
	struct gm_field table_groups, table_length_mask;       /* maps.table.groups.data, .lengthMask */
	struct gm_field hmap_buckets, hmap_oldbuckets;         /* runtime.hmap */
	uint64_t swiss_map_size, table_size, hmap_size;        /* 0 if unknown (that map kind absent) */
	/* sync.Pool (local, victim: [localSize]poolLocal, [victimSize]poolLocal)
	 * and the sync.eface its queues keep values in; absent if unused. */
	struct gm_field pool_local, pool_local_size, pool_victim, pool_victim_size;
	struct gm_field eface_typ, eface_val;
	/* sync.Map's internal/sync.HashTrieMap[any,any] (Go 1.24+): its root
	 * (atomic.Pointer[indirect[K,V]]) and a node's isEntry flag. */
	struct gm_field trie_root, node_is_entry;
	/* sync.Map before 1.24: read (atomic.Pointer[readOnly]) and dirty (map[any]*entry). */
	struct gm_field sync_map_read, sync_map_dirty;
};

/* What runtime.buildGCMask reads to build an on-demand GC mask (1.24+):
 * abi.ArrayType, abi.StructType, abi.StructField and the kind numbers. */
struct gm_gcmask_layout {
	bool present;                      /* all found (always when TFlagGCMaskOnDemand exists) */
	uint64_t kind_array, kind_struct;  /* internal/abi.Array, internal/abi.Struct */
	struct gm_field array_elem, array_len;         /* abi.ArrayType.Elem, .Len */
	struct gm_field struct_fields, struct_nfields; /* abi.StructType.Fields.array, .len */
	uint64_t field_size;                           /* sizeof(abi.StructField) */
	struct gm_field field_typ, field_offset;       /* abi.StructField.Typ, .Offset */
	uint64_t array_type_size, struct_type_size;
};

/* What leaked-goroutine detection reads of a blocked goroutine: g.waiting,
 * the sudog list, and runtime.semtable's treaps (semaphore waits before 1.26).
 * Optional: present false when the runtime lacks g.waiting or a sudog field. */
struct gm_wait_layout {
	bool present;
	uint64_t g_waiting, c, elem, waitlink;
	uint64_t c_addr, elem_addr;   /* the address itself (maybeTraceablePtr.vu in 1.26+, else c / elem) */
	uint64_t sudog_g, prev, next;
	bool has_semtable;            /* semtable, sudog.g/prev/next and semaRoot.treap all found */
	uint64_t sem_roots, sem_stride, sem_treap;
};

/* The memory profiler (mprof.go): the buckets of runtime.mbuckets (a
 * runtime.bucket, then nstk return pcs, then a runtime.memRecord), the
 * profile cycle, the sampling rate and the profile specials (mheap.go) that
 * tie a sampled object to its bucket.  present false when the runtime has
 * no runtime.bucket type. */
struct gm_mprof_layout {
	bool present;
	uint64_t mbuckets_addr;                          /* runtime.mbuckets (atomic.UnsafePointer, *bucket) */
	uint64_t mem_profile_rate_addr;                  /* runtime.MemProfileRate (int) */
	uint64_t cycle_addr;                             /* runtime.mProfCycle: cycle << 1 | flushed */
	struct gm_field cycle_value;                     /* mProfCycleHolder.value.value (uint32) */
	uint64_t bucket_size;                            /* sizeof(runtime.bucket): the stack follows it */
	struct gm_field allnext, typ, size, nstk;        /* runtime.bucket */
	uint64_t mem_profile;                            /* runtime.memProfile: bucket.typ of a memory bucket */
	struct gm_field active, future;                  /* runtime.memRecord */
	uint32_t nfuture;                                /* len(memRecord.future) */
	uint64_t cycle_size;                             /* sizeof(runtime.memRecordCycle) */
	struct gm_field allocs, frees, alloc_bytes, free_bytes; /* memRecordCycle; no bytes from 1.27 */
	uint64_t kind_profile;                           /* runtime._KindSpecialProfile */
	struct gm_field special_bucket;                  /* runtime.specialprofile.b */
};

struct gm_runtime {
	struct gm_program *prog;
	int go_minor;                      /* 22 for go1.22.x; 0 when unparsable */
	/* Feature probes. */
	bool alloc_headers;                /* 1.22+: malloc headers and heap bits in spans */
	bool arena_bitmap;                 /* 1.20-1.21 (and noallocheaders): heapArena.bitmap */
	bool green_tea;                    /* runtime.spanInlineMarkBits exists */
	/* Globals, already moved by the PIE bias. */
	uint64_t mheap_addr, memstats_addr, gc_controller_addr, moduledata_addr, allp_addr;
	uint64_t class_to_size_addr;
	uint32_t nsize_classes;
	/* Constants. */
	uint64_t page_size;
	uint64_t span_dead, span_in_use, span_manual;
	uint64_t min_size_for_malloc_header, malloc_header_size;
	uint64_t ptr_size;                 /* size of a pointer (the DWARF address size) */
	uint64_t tiny_size_class;          /* the tiny allocator's size class (runtime.tinySizeClass) */
	uint64_t inline_mark_bits_size;    /* sizeof(runtime.spanInlineMarkBits), 0 without Green Tea */
	/* abi.Type flags and kind mask (internal/abi constants in DWARF). */
	uint64_t tflag_extra_star;
	uint64_t tflag_gcmask_on_demand;   /* 0 before 1.24 (no on-demand masks) */
	uint64_t tflag_unrolled_bitmap;    /* 1.22-1.23: the runtime's synthetic largeType of a GC-program type */
	uint64_t kind_mask;                /* 0xff from 1.26, where Kind_ carries no flags */
	uint64_t tflag_direct_iface;       /* 1.26+: TFlagDirectIface; 0 before or if unknown */
	uint64_t kind_direct_iface;        /* before 1.26: KindDirectIface in Kind_; 0 if unknown */
	uint64_t kind_gc_prog;             /* before 1.24: KindGCProg in Kind_ (GCData is a program); 0 after */
	/* Layouts. */
	struct gm_field mheap_allspans, mheap_sweepgen, mheap_pages_in_use;
	struct gm_field mheap_spanalloc_inuse, mheap_cachealloc_inuse;
	struct gm_span_layout span;
	struct gm_type_layout type;
	struct gm_gcmask_layout gcmask;
	struct gm_field moduledata_types, moduledata_etypes;
	uint64_t moduledata_size;
	struct gm_field moduledata_data, moduledata_edata, moduledata_bss, moduledata_ebss,
		moduledata_gcdatamask, moduledata_gcbssmask;
	struct gm_field bitvector_n, bitvector_bytedata;   /* runtime.bitvector */
	struct gm_field p_mcache;
	uint64_t mcache_size;
	struct gm_field mcache_alloc, mcache_tiny_allocs;
	uint32_t mcache_nalloc;            /* entries of mcache.alloc (numSpanClasses) */
	struct gm_heap_stats_layout heap_stats;
	struct gm_field mstats_sys[6];     /* stacks, mspan, mcache, buckhash, gcMisc, other */
	struct gm_field mstats_last_gc_unix, mstats_last_gc_nanotime, mstats_pause_total_ns, mstats_numgc;
	struct gm_field gc_heap_in_use, gc_heap_free, gc_heap_released, gc_percent_heap_goal,
		gc_memory_limit;
	uint16_t *class_to_size;           /* copied from the core, nsize_classes entries */
	struct gm_specials_layout specials;
	struct gm_mprof_layout mprof;
	struct gm_arena_layout arena;      /* bound only when arena_bitmap */
	struct gm_field stackmap_n, stackmap_nbit, stackmap_bytedata; /* runtime.stackmap */
	struct gm_field itab_type;         /* abi.ITab.Type (runtime.itab._type); not present: unknown */
	struct gm_field ptrtype_elem;      /* abi.PtrType.Elem (runtime.ptrtype.elem) */
	struct gm_descriptor_layout desc;
	struct gm_wait_layout wait;
	uint64_t heap_arena_bytes;         /* runtime.heapArenaBytes; 0 if unknown (capture punches free pages by it) */
	/* Goroutines. */
	struct gm_g_layout g;
	struct gm_m_layout m;
	uint64_t allgs_addr, allm_addr;
	uint64_t g_idle, g_dead, g_dead_extra, g_waiting, g_syscall, g_running, g_scan;
	bool has_g_dead_extra;             /* 1.26: _Gdeadextra */
	bool has_g_leaked;                 /* runtime._Gleaked exists (goroutine leak detection) */
	uint64_t g_leaked;
	/* The binary's own status and wait-reason strings ([N]string globals). */
	uint64_t g_status_strings_addr, wait_reason_strings_addr;
	uint32_t ng_status_strings, nwait_reason_strings;
};

/* Bind PROG's runtime.  GM_ERR_BAD_RUNTIME names what is missing. */
struct gm_error *gm_runtime_bind(struct gm_program *prog, struct gm_runtime **ret);

/* Make every layout lookup the runtime and pclntab binders make, reading
 * nothing from a core (PROG may have none): for recording the answers
 * (`gomortem dwarf --layouts`) and checking the generated tables. */
struct gm_error *gm_runtime_bind_layouts(struct gm_program *prog);

void gm_runtime_destroy(struct gm_runtime *rt);

#endif
