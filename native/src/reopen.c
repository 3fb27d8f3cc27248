/*
 * Repeated opens, answered in C. The engine answers a node's first open; its reply may add how to do that
 * open again (open this path with these flags, serve it the same way). Later opens of the node with the
 * same flags are then answered here, with no trip to JS, until the engine starts a change (dropReopens
 * moves the generation on, which lapses every recipe at once) or the kernel forgets the node.
 *
 * tar cf over a warm tree is one open and one release a file: with this, neither enters JS.
 * Everything here runs on the JS thread (request handlers and reply calls), so nothing is locked.
 */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct reopen {
  fuse_ino_t nodeid;
  uint64_t generation;
  int flags;             /* the request's flags it repeats */
  char *path;            /* what the engine opened */
  int open_flags;        /* and how */
  struct open_spec spec; /* spec.ext owned here */
  struct reopen *next;
};

static struct reopen **slot_of(struct session *s, fuse_ino_t nodeid) {
  struct reopen **p = &s->reopens[nodeid % RBUCKETS];
  while (*p && (*p)->nodeid != nodeid) p = &(*p)->next;
  return p;
}

static void reopen_free(struct reopen *r) {
  free(r->path);
  free(r->spec.ext);
  free(r);
}

static struct extent *copy_extents(const struct extent *ext, size_t n) {
  if (!ext) return NULL; /* a plain file */
  struct extent *c = malloc(n ? n * sizeof *c : 1);
  memcpy(c, ext, n * sizeof *c);
  return c;
}

/* Kept with the generation of the request: when a change started while the engine was opening, it has lapsed. */
void reopen_remember(struct session *s, const struct handle *h, uint64_t generation, char *path, int open_flags,
                     const struct open_spec *spec) {
  struct reopen **p = slot_of(s, h->nodeid), *r = *p;
  if (r) {
    free(r->path);
    free(r->spec.ext);
  } else {
    r = calloc(1, sizeof *r);
    r->nodeid = h->nodeid;
    *p = r;
  }
  r->generation = generation;
  r->flags = h->flags;
  r->path = path;
  r->open_flags = open_flags;
  r->spec = *spec;
  r->spec.ext = copy_extents(spec->ext, spec->next);
}

bool reopen_answer(struct session *s, fuse_req_t req, fuse_ino_t nodeid, struct fuse_file_info *request) {
  struct reopen *r = *slot_of(s, nodeid);
  if (!r || r->generation != s->reopen_generation || r->flags != request->flags) return false;
  /* A failure, or a node open passthrough to another file, goes to the engine, which knows what to answer. */
  int fd = open(r->path, r->open_flags | O_CLOEXEC);
  if (fd < 0) return false;
  struct fuse_file_info fi = *request;
  struct open_spec spec = r->spec;
  spec.ext = copy_extents(r->spec.ext, r->spec.next);
  struct handle *h = handle_open(s, fd, &spec, nodeid, &fi);
  if (!h) return false;
  s->reopens_answered++;
  int sent = fuse_reply_open(req, &fi);
  io_replied();
  if (sent != 0) handle_release(s, h->fh);
  return true;
}

void reopen_forget(struct session *s, fuse_ino_t nodeid) {
  struct reopen **p = slot_of(s, nodeid), *r = *p;
  if (!r) return;
  *p = r->next;
  reopen_free(r);
}

void reopen_forget_all(struct session *s) {
  for (size_t i = 0; i < RBUCKETS; i++) {
    while (s->reopens[i]) {
      struct reopen *r = s->reopens[i];
      s->reopens[i] = r->next;
      reopen_free(r);
    }
  }
}
