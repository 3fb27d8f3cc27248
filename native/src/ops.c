/* FUSE low-level operations: metadata requests are forwarded to JS, the data path
 * (read/write/fsync/ftruncate/fallocate) runs in C on the data threads, release, repeated opens
 * (reopen.c) and the attributes of files open on storage here. flush is left
 * unimplemented: there is nothing to do on close, and the kernel stops asking after the first ENOSYS. */
#define _GNU_SOURCE
#include "common.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline struct session *S(fuse_req_t req) { return fuse_req_userdata(req); }

/* ---------------------------------------------------------------- handles */

struct handle *handle_get(struct session *s, uint64_t fh) {
  pthread_mutex_lock(&s->hlock);
  struct handle *h = s->handles[fh % HBUCKETS];
  while (h && h->fh != fh) h = h->hnext;
  if (h) h->refs++;
  pthread_mutex_unlock(&s->hlock);
  return h;
}

static void handle_free(struct handle *h) {
  if (h->fd >= 0) close(h->fd);
  free(h->ext);
  pthread_rwlock_destroy(&h->lock);
  free(h);
}

void handle_put(struct session *s, struct handle *h) {
  pthread_mutex_lock(&s->hlock);
  int left = --h->refs;
  pthread_mutex_unlock(&s->hlock);
  if (left == 0) handle_free(h);
}

/* Unlinks fh from the table; the caller inherits the table's reference. */
static struct handle *handle_remove(struct session *s, uint64_t fh) {
  pthread_mutex_lock(&s->hlock);
  struct handle **p = &s->handles[fh % HBUCKETS];
  while (*p && (*p)->fh != fh) p = &(*p)->hnext;
  struct handle *h = *p;
  if (h) {
    *p = h->hnext;
    struct handle **n = &s->by_node[h->nodeid % HBUCKETS];
    while (*n != h) n = &(*n)->nnext;
    *n = h->nnext;
  }
  pthread_mutex_unlock(&s->hlock);
  return h;
}

/* A plain file's handle, under its lock: its attributes are its descriptor's, with the inode number its open
 * was given. 0, or the errno. */
static int handle_stat(const struct handle *h, struct stat *st) {
  if (fstat(h->fd, st) < 0) return errno;
  st->st_ino = h->ino;
  return 0;
}

static void reply_attr_or_err(fuse_req_t req, const struct session *s, const struct stat *st, int err) {
  if (err) fuse_reply_err(req, err);
  else fuse_reply_attr(req, st, s->attr_timeout);
}

/*
 * A referenced handle of the node on a storage file, or NULL. The node is then that file (created, or
 * copied up: a base file's handles are pointed at the copy before any open of the copy is answered), so
 * its attributes are the file's, with the inode number the engine gave the open. JS thread only: it is the
 * one that retargets handles.
 */
static struct handle *handle_on_storage(struct session *s, fuse_ino_t nodeid) {
  pthread_mutex_lock(&s->hlock);
  struct handle *h = s->by_node[nodeid % HBUCKETS];
  while (h && (h->nodeid != nodeid || h->follows_copy_up || h->ext)) h = h->nnext;
  if (h) h->refs++;
  pthread_mutex_unlock(&s->hlock);
  return h;
}

struct handle *handle_open(struct session *s, int fd, const struct open_spec *spec, fuse_ino_t nodeid,
                           struct fuse_file_info *fi) {
  struct handle *h = calloc(1, sizeof *h);
  h->fd = fd;
  h->ino = spec->ino;
  h->nodeid = nodeid;
  h->ext = spec->ext;
  h->next = spec->next;
  for (size_t i = 0; i < h->next; i++) h->ext_total += h->ext[i].len;
  h->flags = fi->flags;
  h->follows_copy_up = spec->follows_copy_up;
  pthread_rwlock_init(&h->lock, NULL);
  h->refs = 1;
  pthread_mutex_lock(&s->hlock);
  h->fh = ++s->next_fh;
  struct handle **b = &s->handles[h->fh % HBUCKETS];
  h->hnext = *b;
  *b = h;
  struct handle **n = &s->by_node[nodeid % HBUCKETS];
  h->nnext = *n;
  *n = h;
  pthread_mutex_unlock(&s->hlock);
  fi->fh = h->fh;
  fi->keep_cache = spec->keep_cache;
  fi->direct_io = spec->direct_io;
  bool writable = (fi->flags & O_ACCMODE) != O_RDONLY;
  if (io_choose(s, h, spec->passthrough && !spec->direct_io, writable) == IO_CONFLICT) {
    handle_release(s, h->fh); /* closes fd */
    return NULL;
  }
  return h;
}

void handle_release(struct session *s, uint64_t fh) {
  struct handle *h = handle_remove(s, fh);
  if (!h) return;
  io_release(s, h);
  handle_put(s, h); /* closes the fd once no data job or JS call holds it */
}

void handles_close_all(struct session *s) {
  pthread_mutex_lock(&s->hlock);
  memset(s->by_node, 0, sizeof s->by_node);
  pthread_mutex_unlock(&s->hlock);
  for (size_t i = 0; i < HBUCKETS; i++) {
    pthread_mutex_lock(&s->hlock);
    struct handle *h = s->handles[i];
    s->handles[i] = NULL;
    pthread_mutex_unlock(&s->hlock);
    while (h) {
      struct handle *n = h->hnext;
      handle_put(s, h);
      h = n;
    }
  }
}

/* ------------------------------------------------------- forwarding to JS */

static char *dupn(const char *p, size_t *len) {
  size_t n = strlen(p);
  char *c = malloc(n + 1);
  memcpy(c, p, n + 1);
  *len = n;
  return c;
}

static struct msg *req_msg(fuse_req_t req, int op, fuse_ino_t ino, size_t size,
                           const struct fuse_file_info *fi) {
  struct msg *m = calloc(1, sizeof *m);
  m->kind = M_REQUEST;
  m->op = op;
  m->ino = ino;
  m->ctx = *fuse_req_ctx(req);
  if (fi) {
    m->has_fh = true;
    m->fh = fi->fh;
  }
  m->id = pending_add(S(req), req, op, ino, size, fi);
  return m;
}

static void send_msg(fuse_req_t req, struct msg *m) { deliver_msg(S(req), m); }

static void fwd_name(fuse_req_t req, int op, fuse_ino_t parent, const char *name) {
  struct msg *m = req_msg(req, op, parent, 0, NULL);
  m->name = dupn(name, &m->name_len);
  send_msg(req, m);
}

static void op_init(void *userdata, struct fuse_conn_info *conn) {
  struct session *s = userdata;
  conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_CACHE_SYMLINKS |
                FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_ASYNC_READ |
                FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
  if (s->writeback) conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  else conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  /* No AUTO_INVAL_DATA: every change reaches the kernel through this daemon or an explicit
   * invalidation (revert, undo, merge), so cached reads need not re-check the attributes first. */
  conn->want &= ~(FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_FLOCK_LOCKS |
                  FUSE_CAP_POSIX_LOCKS | FUSE_CAP_DONT_MASK);
#ifdef FUSE_CAP_HANDLE_KILLPRIV_V2
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV_V2;
#endif
  conn->want &= conn->capable;
  conn->max_write = MAX_IO;
  conn->max_read = MAX_IO; /* must equal the -o max_read the wrapper passes */
  conn->max_readahead = MAX_IO; /* the kernel reads ahead no further than this and its bdi's window (readahead.c) */
  struct msg *m = calloc(1, sizeof *m);
  m->kind = M_INIT;
  deliver_msg(s, m);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  fwd_name(req, OP_LOOKUP, parent, name);
}

static void send_forget(struct session *s, fuse_ino_t ino, uint64_t n) {
  nodeset_remove(&s->xattr_free, ino); /* conservative: JS may find it again */
  reopen_forget(s, ino);
  struct msg *m = calloc(1, sizeof *m);
  m->kind = M_FORGET;
  m->ino = ino;
  m->a = (int64_t)n;
  deliver_msg(s, m);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  send_forget(S(req), ino, nlookup);
  fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f) {
  for (size_t i = 0; i < count; i++) send_forget(S(req), f[i].ino, f[i].nlookup);
  fuse_reply_none(req);
}

#define TIMES (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW)
/* What attr_from_open_file can set; ctime follows by itself. */
#define SETTABLE_HERE (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID | TIMES | FUSE_SET_ATTR_CTIME)

static struct timespec time_to_set(int to_set, int set_bit, int now_bit, struct timespec t) {
  if (to_set & now_bit) return (struct timespec){.tv_nsec = UTIME_NOW};
  if (to_set & set_bit) return t;
  return (struct timespec){.tv_nsec = UTIME_OMIT};
}

/*
 * getattr and setattr (mode, owner, times) of a node open on a storage file are answered here, from that
 * file, as the engine would answer them: `tar xf` asks four of them per file, between create and release.
 * Such a node is created or copied up already, so nothing is copied and nothing is recorded; like a write,
 * the change reaches no listener. False: the engine answers.
 */
static bool attr_from_open_file(fuse_req_t req, fuse_ino_t ino, const struct stat *set, int to_set) {
  struct session *s = S(req);
  struct handle *h = handle_on_storage(s, ino);
  if (!h) return false;
  struct stat st;
  int err = 0;
  pthread_rwlock_rdlock(&h->lock);
  if ((to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
      fchown(h->fd, to_set & FUSE_SET_ATTR_UID ? set->st_uid : (uid_t)-1,
             to_set & FUSE_SET_ATTR_GID ? set->st_gid : (gid_t)-1) < 0)
    err = errno;
  if (!err && (to_set & FUSE_SET_ATTR_MODE) && fchmod(h->fd, set->st_mode & 07777) < 0) err = errno;
  if (!err && (to_set & TIMES)) {
    struct timespec times[2] = {time_to_set(to_set, FUSE_SET_ATTR_ATIME, FUSE_SET_ATTR_ATIME_NOW, set->st_atim),
                                time_to_set(to_set, FUSE_SET_ATTR_MTIME, FUSE_SET_ATTR_MTIME_NOW, set->st_mtim)};
    if (futimens(h->fd, times) < 0) err = errno;
  }
  if (!err) err = handle_stat(h, &st);
  pthread_rwlock_unlock(&h->lock);
  handle_put(s, h);
  s->attrs_from_open_files++;
  reply_attr_or_err(req, s, &st, err);
  return true;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  static const struct stat nothing;
  if (attr_from_open_file(req, ino, &nothing, 0)) return;
  send_msg(req, req_msg(req, OP_GETATTR, ino, 0, fi));
}

/*
 * The data path: each op takes the handle here, on the JS thread, and queues the work for the data
 * threads (datapool.c), which reply. A job holds its handle, so a release cannot close the fd under it.
 */
static void submit(fuse_req_t req, struct fuse_file_info *fi, void (*run)(struct data_job *), off_t off,
                   off_t len, int flags, char *data) {
  struct handle *h = handle_get(S(req), fi->fh);
  if (!h) {
    free(data);
    fuse_reply_err(req, EBADF);
    return;
  }
  struct data_job *job = calloc(1, sizeof *job);
  job->run = run;
  job->req = req;
  job->h = h;
  job->off = off;
  job->len = len;
  job->flags = flags;
  job->data = data;
  datapool_submit(S(req), job);
}

/* ftruncate through an open handle: the data path's, with the attributes after it. */
static void ftruncate_job(struct data_job *j) {
  struct handle *h = j->h;
  struct stat st;
  int err = 0;
  pthread_rwlock_rdlock(&h->lock);
  if (h->ext) err = EBADF;
  else if (ftruncate(h->fd, j->off) < 0) err = errno;
  else err = handle_stat(h, &st);
  pthread_rwlock_unlock(&h->lock);
  reply_attr_or_err(j->req, j->s, &st, err);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi) {
  if (fi && (to_set & ~FUSE_SET_ATTR_CTIME) == FUSE_SET_ATTR_SIZE) {
    submit(req, fi, ftruncate_job, attr->st_size, 0, 0, NULL);
    return;
  }
  if (!(to_set & ~SETTABLE_HERE) && attr_from_open_file(req, ino, attr, to_set)) return;
  struct msg *m = req_msg(req, OP_SETATTR, ino, 0, fi);
  m->attr = *attr;
  m->to_set = to_set;
  send_msg(req, m);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  send_msg(req, req_msg(req, OP_READLINK, ino, 0, NULL));
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
  struct msg *m = req_msg(req, OP_MKNOD, parent, 0, NULL);
  m->name = dupn(name, &m->name_len);
  m->a = mode;
  m->b = (int64_t)rdev;
  send_msg(req, m);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  struct msg *m = req_msg(req, OP_MKDIR, parent, 0, NULL);
  m->name = dupn(name, &m->name_len);
  m->a = mode;
  send_msg(req, m);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
  fwd_name(req, OP_UNLINK, parent, name);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
  fwd_name(req, OP_RMDIR, parent, name);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name) {
  struct msg *m = req_msg(req, OP_SYMLINK, parent, 0, NULL);
  m->name = dupn(name, &m->name_len);
  m->name2 = dupn(link, &m->name2_len);
  send_msg(req, m);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags) {
  struct msg *m = req_msg(req, OP_RENAME, parent, 0, NULL);
  m->name = dupn(name, &m->name_len);
  m->ino2 = newparent;
  m->name2 = dupn(newname, &m->name2_len);
  m->a = flags;
  send_msg(req, m);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname) {
  struct msg *m = req_msg(req, OP_LINK, ino, 0, NULL);
  m->ino2 = newparent;
  m->name = dupn(newname, &m->name_len);
  send_msg(req, m);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  if (reopen_answer(S(req), req, ino, fi)) return;
  struct msg *m = req_msg(req, OP_OPEN, ino, 0, fi);
  m->has_fh = false;
  m->a = fi->flags;
  send_msg(req, m);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi) {
  struct msg *m = req_msg(req, OP_CREATE, parent, 0, fi);
  m->has_fh = false;
  m->name = dupn(name, &m->name_len);
  m->a = mode;
  m->b = fi->flags;
  send_msg(req, m);
}

/*
 * ENOSYS tells the kernel that folders need no open: it stops sending opendir and releasedir, and keeps
 * every folder's listing cached (FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR is its default without opendir). So a
 * warm walk of the tree costs no request at all; readdir works from the nodeid alone.
 */
static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  (void)fi;
  fuse_reply_err(req, ENOSYS);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi) {
  (void)fi;
  struct msg *m = req_msg(req, OP_READDIR, ino, size, NULL);
  m->a = off;
  send_msg(req, m);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi) {
  (void)fi;
  struct msg *m = req_msg(req, OP_READDIRPLUS, ino, size, NULL);
  m->a = off;
  send_msg(req, m);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  (void)fi;
  struct msg *m = req_msg(req, OP_FSYNCDIR, ino, 0, NULL);
  m->a = datasync;
  send_msg(req, m);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino) {
  send_msg(req, req_msg(req, OP_STATFS, ino, 0, NULL));
}

/*
 * xattrs the mount does not carry, refused here with EOPNOTSUPP (as a filesystem without them answers)
 * without a trip to JS:
 * - POSIX ACLs, unless enabled: the kernel enforces mode bits only, so ACL xattrs would mislead.
 * - SELinux labels: SELinux labels FUSE mounts from its policy (genfscon) or context=, never from their
 *   xattrs, so a security.selinux the base carries is no label here.
 * `ls -l` asks for both on every file; this answer makes it stop asking for the whole mount.
 */
static bool refused_xattr(fuse_req_t req, const char *name) {
  bool acl = !S(req)->posix_acl && strncmp(name, "system.posix_acl_", 17) == 0;
  if (!acl && strcmp(name, "security.selinux") != 0) return false;
  fuse_reply_err(req, EOPNOTSUPP);
  return true;
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags) {
  if (refused_xattr(req, name)) return;
  nodeset_remove(&S(req)->xattr_free, ino);
  struct msg *m = req_msg(req, OP_SETXATTR, ino, 0, NULL);
  m->name = dupn(name, &m->name_len);
  m->value = malloc(size ? size : 1);
  memcpy(m->value, value, size);
  m->value_len = size;
  m->a = flags;
  send_msg(req, m);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
  if (refused_xattr(req, name)) return;
  /* The kernel asks for security.capability before every write: mostly answered here. */
  if (nodeset_has(&S(req)->xattr_free, ino)) {
    fuse_reply_err(req, ENODATA);
    return;
  }
  struct msg *m = req_msg(req, OP_GETXATTR, ino, size, NULL);
  m->name = dupn(name, &m->name_len);
  send_msg(req, m);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  if (nodeset_has(&S(req)->xattr_free, ino)) {
    if (size == 0) fuse_reply_xattr(req, 0);
    else fuse_reply_buf(req, NULL, 0);
    return;
  }
  send_msg(req, req_msg(req, OP_LISTXATTR, ino, size, NULL));
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name) {
  if (refused_xattr(req, name)) return;
  nodeset_remove(&S(req)->xattr_free, ino);
  fwd_name(req, OP_REMOVEXATTR, ino, name);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  struct msg *m = req_msg(req, OP_ACCESS, ino, 0, NULL);
  m->a = mask;
  send_msg(req, m);
}

/* -------------------------------------------------------------- data path */

static void read_job(struct data_job *j) {
  struct handle *h = j->h;
  size_t size = (size_t)j->len;
  off_t off = j->off;
  pthread_rwlock_rdlock(&h->lock);
  if (!h->ext) {
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
    bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
    bv.buf[0].fd = h->fd;
    bv.buf[0].pos = off;
    fuse_reply_data(j->req, &bv, FUSE_BUF_SPLICE_MOVE);
  } else if (off >= h->ext_total || size == 0) {
    fuse_reply_buf(j->req, NULL, 0);
  } else {
    off_t end = off + (off_t)size;
    if (end > h->ext_total) end = h->ext_total;
    struct fuse_bufvec *bv =
        calloc(1, sizeof *bv + h->next * sizeof(struct fuse_buf));
    size_t n = 0;
    off_t lstart = 0;
    for (size_t i = 0; i < h->next && lstart < end; i++) {
      off_t lend = lstart + h->ext[i].len;
      off_t a = off > lstart ? off : lstart, b = end < lend ? end : lend;
      if (a < b) {
        bv->buf[n].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
        bv->buf[n].fd = h->fd;
        bv->buf[n].pos = h->ext[i].off + (a - lstart);
        bv->buf[n].size = (size_t)(b - a);
        n++;
      }
      lstart = lend;
    }
    bv->count = n;
    fuse_reply_data(j->req, bv, FUSE_BUF_SPLICE_MOVE);
    free(bv);
  }
  pthread_rwlock_unlock(&h->lock);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi) {
  (void)ino;
  struct session *s = S(req);
  if (size > s->max_read_seen) s->max_read_seen = size;
  submit(req, fi, read_job, off, (off_t)size, 0, NULL);
}

static void write_job(struct data_job *j) {
  struct handle *h = j->h;
  size_t size = (size_t)j->len, done = 0;
  int err = 0;
  pthread_rwlock_rdlock(&h->lock);
  if (h->ext) err = EBADF;
  while (!err && done < size) {
    ssize_t n = pwrite(h->fd, j->data + done, size - done, j->off + (off_t)done);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
    } else if (n == 0) {
      break;
    } else {
      done += (size_t)n;
    }
  }
  pthread_rwlock_unlock(&h->lock);
  if (err && done == 0) fuse_reply_err(j->req, err);
  else fuse_reply_write(j->req, done);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi) {
  (void)ino;
  struct session *s = S(req);
  s->write_requests++;
  if (size > s->max_write_seen) s->max_write_seen = size;
  char *data = malloc(size ? size : 1);
  memcpy(data, buf, size);
  submit(req, fi, write_job, off, (off_t)size, 0, data);
}

static void fsync_job(struct data_job *j) {
  struct handle *h = j->h;
  int err = 0;
  pthread_rwlock_rdlock(&h->lock);
  if (!h->ext && (j->flags ? fdatasync(h->fd) : fsync(h->fd)) < 0) err = errno;
  pthread_rwlock_unlock(&h->lock);
  fuse_reply_err(j->req, err);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  (void)ino;
  submit(req, fi, fsync_job, 0, 0, datasync, NULL);
}

static void fallocate_job(struct data_job *j) {
  struct handle *h = j->h;
  int err = 0;
  pthread_rwlock_rdlock(&h->lock);
  if (h->ext) err = EBADF;
  else if (fallocate(h->fd, j->flags, j->off, j->len) < 0) err = errno;
  pthread_rwlock_unlock(&h->lock);
  fuse_reply_err(j->req, err);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                         struct fuse_file_info *fi) {
  (void)ino;
  submit(req, fi, fallocate_job, offset, length, mode, NULL);
}

/* The engine is not told: it asks for a node's open files when it needs them (openFiles). */
static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  handle_release(S(req), fi->fh);
  fuse_reply_err(req, 0);
}

const struct fuse_lowlevel_ops minifo_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .release = op_release,
    .fsync = op_fsync,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .fsyncdir = op_fsyncdir,
    .statfs = op_statfs,
    .setxattr = op_setxattr,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .removexattr = op_removexattr,
    .access = op_access,
    .create = op_create,
    .fallocate = op_fallocate,
};
