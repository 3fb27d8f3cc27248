/*
 * FUSE passthrough (Linux 6.9+): the kernel reads and writes a storage file itself, through the page
 * cache of the filesystem under storage, and never sends those reads and writes here.
 *
 * libfuse 3.14 cannot negotiate it, so the session's I/O goes through these callbacks
 * (fuse_session_custom_io), which add to two replies what libfuse leaves out: FUSE_PASSTHROUGH and a
 * stack depth in the INIT reply, and FOPEN_PASSTHROUGH with a backing id in an open or create reply.
 * Every answer then leaves through send_answer, where the reader (reader.c) may take it to write itself.
 *
 * The kernel lets an inode's open files be either all passthrough, to one backing file, or all cached.
 * So this keeps, per nodeid, how many of each are open, and io_choose picks what the kernel will take.
 * Only storage files are offered (the engine says which): a base file's open handles are pointed at
 * the copy when it is copied up (retarget), which a passthrough file could not follow. Passthrough starts
 * with an open for writing; opens beside it follow it.
 */
#define _GNU_SOURCE
#include "common.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

/* From the kernel's uapi/linux/fuse.h (7.40), which libfuse 3.14's headers predate. */
#define K_FUSE_INIT 26
#define K_FUSE_INIT_EXT (1u << 30)
#define K_FUSE_PASSTHROUGH_FLAGS2 (1u << (37 - 32))
#define K_FOPEN_PASSTHROUGH (1u << 7)
struct k_init_in { uint32_t major, minor, max_readahead, flags, flags2, unused[11]; };
struct k_init_out {
  uint32_t major, minor, max_readahead, flags;
  uint16_t max_background, congestion_threshold;
  uint32_t max_write, time_gran;
  uint16_t max_pages, map_alignment;
  uint32_t flags2, max_stack_depth;
  uint16_t request_timeout, unused[11];
};
struct k_open_out { uint64_t fh; uint32_t open_flags; int32_t backing_id; };
struct k_backing_map { int32_t fd; uint32_t flags; uint64_t padding; };
#define K_ENTRY_OUT_SIZE 128
#define K_FUSE_DEV_IOC_BACKING_OPEN _IOW(229, 1, struct k_backing_map)
#define K_FUSE_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

/* Backing files may not sit on a stacked filesystem: one on overlayfs is served the cached way. */
#define STACK_DEPTH 1

/* Set on the JS thread around the open or create reply that carries it; the data threads never see it. */
static __thread int reply_backing_id;

/* ---------------------------------------------------------------- the session's I/O */

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata) {
  struct session *s = userdata;
  ssize_t n = read(fd, buf, len);
  if (n >= (ssize_t)(sizeof(struct k_in_header) + sizeof(struct k_init_in))) {
    const struct k_in_header *in = buf;
    if (in->opcode == K_FUSE_INIT) {
      const struct k_init_in *init = (const void *)(in + 1);
      s->pt_init_unique = in->unique;
      s->passthrough = !s->writeback && (init->flags & K_FUSE_INIT_EXT) && (init->flags2 & K_FUSE_PASSTHROUGH_FLAGS2);
    }
  }
  return n;
}

static ssize_t send_answer(struct session *s, int fd, struct iovec *iov, int count) {
  if (!reader_keep_answer(s, iov, count)) return writev(fd, iov, count);
  ssize_t len = 0;
  for (int i = 0; i < count; i++) len += (ssize_t)iov[i].iov_len;
  return len;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata) {
  struct session *s = userdata;
  const struct k_out_header *out = iov[0].iov_base;
  /* Patched in a copy: the reply's buffer belongs to libfuse. */
  char copy[K_ENTRY_OUT_SIZE + sizeof(struct k_open_out)];
  size_t len = count == 2 ? iov[1].iov_len : 0;
  if (s->pt_init_unique != 0 && out->unique == s->pt_init_unique) {
    s->pt_init_unique = 0;
    if (!s->passthrough || out->error != 0 || len != sizeof(struct k_init_out)) {
      s->passthrough = false;
      return send_answer(s, fd, iov, count);
    }
    memcpy(copy, iov[1].iov_base, len);
    struct k_init_out *init = (void *)copy;
    init->flags |= K_FUSE_INIT_EXT;
    init->flags2 |= K_FUSE_PASSTHROUGH_FLAGS2;
    init->max_stack_depth = STACK_DEPTH;
  } else if (reply_backing_id > 0 && out->error == 0 && len >= sizeof(struct k_open_out) && len <= sizeof copy) {
    memcpy(copy, iov[1].iov_base, len);
    struct k_open_out *open = (void *)(copy + len - sizeof *open);
    open->open_flags = K_FOPEN_PASSTHROUGH; /* the kernel takes no other flag with it (keep_cache: EINVAL) */
    open->backing_id = reply_backing_id;
  } else {
    return send_answer(s, fd, iov, count);
  }
  struct iovec patched[2] = {iov[0], {copy, len}};
  return send_answer(s, fd, patched, 2);
}

static ssize_t io_splice_send(int fdin, off_t *offin, int fdout, off_t *offout, size_t len, unsigned int flags,
                              void *userdata) {
  (void)userdata;
  return splice(fdin, offin, fdout, offout, len, flags);
}

int passthrough_attach(struct session *s) {
  static const struct fuse_custom_io io = {.writev = io_writev, .read = io_read, .splice_send = io_splice_send};
  return fuse_session_custom_io(s->se, &io, fuse_session_fd(s->se));
}

/* ---------------------------------------------------------------- what each nodeid has open */

struct node_io {
  fuse_ino_t nodeid;
  int cached;       /* open handles the kernel caches */
  int passthrough;  /* open handles the kernel reads and writes itself, all through backing_id */
  int backing_id;
  dev_t dev;        /* the backing file */
  ino_t ino;
  struct node_io *next;
};

static struct node_io **slot_of(struct session *s, fuse_ino_t nodeid) {
  struct node_io **p = &s->node_io[nodeid % NIO_BUCKETS];
  while (*p && (*p)->nodeid != nodeid) p = &(*p)->next;
  return p;
}

/* A refusal is about the daemon (EPERM: no CAP_SYS_ADMIN) or the storage filesystem (ELOOP: stacked), so it
 * would repeat for every file: passthrough ends for the session, and the files are served the cached way. */
static int backing_open(struct session *s, int fd) {
  struct k_backing_map map = {.fd = fd};
  int id = ioctl(fuse_session_fd(s->se), K_FUSE_DEV_IOC_BACKING_OPEN, &map);
  if (id < 0) {
    const char *why = errno == EPERM   ? "the daemon lacks CAP_SYS_ADMIN"
                      : errno == ELOOP ? "the storage is on a stacked filesystem such as overlayfs"
                                       : strerror(errno);
    fuse_log(FUSE_LOG_WARNING, "minifo: FUSE passthrough refused (%s); storage files are served by the daemon\n", why);
    s->passthrough = false;
  }
  return id;
}

enum io_mode io_choose(struct session *s, struct handle *h, bool offered, bool writable) {
  struct node_io **p = slot_of(s, h->nodeid), *n = *p;
  bool may = offered && s->passthrough && h->ext == NULL;
  struct stat st; /* the file's identity, taken only when it decides something (not for every cached open) */
  if (n && n->passthrough > 0) {
    /* The node's content moved to another file (a revert) while open: the kernel would refuse either mode. */
    if (!may || fstat(h->fd, &st) != 0 || st.st_dev != n->dev || st.st_ino != n->ino) return IO_CONFLICT;
    n->passthrough++;
    h->io = IO_PASSTHROUGH;
    reply_backing_id = n->backing_id;
    return IO_PASSTHROUGH;
  }
  if (!n) {
    n = calloc(1, sizeof *n);
    n->nodeid = h->nodeid;
    *p = n;
  }
  /* Only an open for writing starts passthrough. After a passthrough read the kernel drops the atime it cached,
   * so the next stat costs a request (tar cf of 5,000 storage files: 3 requests a file instead of 2), and
   * cached reads are fast anyway; writes are what gains (dd: 1 GB/s through the daemon, 3.7 GB/s here). */
  int id = may && writable && n->cached == 0 && fstat(h->fd, &st) == 0 ? backing_open(s, h->fd) : -1;
  if (id < 0) {
    n->cached++;
    h->io = IO_CACHED;
    return IO_CACHED;
  }
  n->backing_id = id;
  n->dev = st.st_dev;
  n->ino = st.st_ino;
  n->passthrough = 1;
  h->io = IO_PASSTHROUGH;
  reply_backing_id = id;
  return IO_PASSTHROUGH;
}

void io_replied(void) { reply_backing_id = 0; }

void io_release(struct session *s, struct handle *h) {
  struct node_io **p = slot_of(s, h->nodeid), *n = *p;
  if (!n || h->io == IO_NONE) return;
  if (h->io == IO_PASSTHROUGH && --n->passthrough == 0) {
    uint32_t id = (uint32_t)n->backing_id;
    if (ioctl(fuse_session_fd(s->se), K_FUSE_DEV_IOC_BACKING_CLOSE, &id) < 0)
      fuse_log(FUSE_LOG_ERR, "minifo: closing FUSE backing id %u: %s\n", id, strerror(errno));
  }
  if (h->io == IO_CACHED) n->cached--;
  h->io = IO_NONE;
  if (n->cached == 0 && n->passthrough == 0) {
    *p = n->next;
    free(n);
  }
}

int io_passthrough_opens(struct session *s) {
  int total = 0;
  for (size_t i = 0; i < NIO_BUCKETS; i++)
    for (struct node_io *n = s->node_io[i]; n; n = n->next) total += n->passthrough;
  return total;
}

void io_forget_all(struct session *s) {
  for (size_t i = 0; i < NIO_BUCKETS; i++) {
    while (s->node_io[i]) {
      struct node_io *n = s->node_io[i];
      s->node_io[i] = n->next;
      free(n);
    }
  }
}
