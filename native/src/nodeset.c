/* nodeset: a thread-safe set of nodeids (open addressing, linear probing, grows at half full). */
#include "common.h"
#include <stdlib.h>

#define EMPTY 0            /* nodeid 0 is never a node */
#define REMOVED UINT64_MAX /* a tombstone keeps later entries of a probe run reachable */

void nodeset_init(struct nodeset *set) {
  pthread_mutex_init(&set->lock, NULL);
  set->cap = 1024;
  set->used = 0;
  set->slots = calloc(set->cap, sizeof *set->slots);
}

void nodeset_destroy(struct nodeset *set) {
  free(set->slots);
  set->slots = NULL;
  pthread_mutex_destroy(&set->lock);
}

/* The slot holding id, or else the first free one of its probe run. Caller holds the lock. */
static size_t find_slot(const struct nodeset *set, uint64_t id) {
  size_t mask = set->cap - 1, i = (size_t)(id * 0x9e3779b97f4a7c15ull) & mask;
  size_t free_slot = SIZE_MAX;
  for (;; i = (i + 1) & mask) {
    uint64_t v = set->slots[i];
    if (v == id) return i;
    if (v == REMOVED && free_slot == SIZE_MAX) free_slot = i;
    if (v == EMPTY) return free_slot != SIZE_MAX ? free_slot : i;
  }
}

static void grow(struct nodeset *set) {
  uint64_t *old = set->slots;
  size_t old_cap = set->cap;
  size_t live = 0;
  for (size_t i = 0; i < old_cap; i++) live += old[i] != EMPTY && old[i] != REMOVED;
  if (live * 4 >= old_cap) set->cap *= 2; /* else rehashing alone clears the tombstones */
  set->slots = calloc(set->cap, sizeof *set->slots);
  set->used = 0;
  for (size_t i = 0; i < old_cap; i++) {
    if (old[i] == EMPTY || old[i] == REMOVED) continue;
    set->slots[find_slot(set, old[i])] = old[i];
    set->used++;
  }
  free(old);
}

bool nodeset_has(struct nodeset *set, uint64_t id) {
  pthread_mutex_lock(&set->lock);
  bool has = set->slots[find_slot(set, id)] == id;
  pthread_mutex_unlock(&set->lock);
  return has;
}

void nodeset_add(struct nodeset *set, uint64_t id) {
  pthread_mutex_lock(&set->lock);
  size_t i = find_slot(set, id);
  if (set->slots[i] != id) {
    if (set->slots[i] == EMPTY) set->used++;
    set->slots[i] = id;
    if (set->used * 2 > set->cap) grow(set);
  }
  pthread_mutex_unlock(&set->lock);
}

void nodeset_remove(struct nodeset *set, uint64_t id) {
  pthread_mutex_lock(&set->lock);
  size_t i = find_slot(set, id);
  if (set->slots[i] == id) set->slots[i] = REMOVED;
  pthread_mutex_unlock(&set->lock);
}
