/* Session: mount, the request loop on the JS thread, dispatch to JS, reply functions,
 * the notifier thread and unmount. */
#define _GNU_SOURCE
#include "common.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------- libfuse log */

static __thread char *capture_buf; /* non-NULL while mount() collects libfuse's messages */
static __thread size_t capture_len;
#define CAPTURE_MAX 1024

static void log_func(enum fuse_log_level level, const char *fmt, va_list ap) {
  (void)level;
  if (capture_buf) {
    if (capture_len < CAPTURE_MAX - 1) {
      int n = vsnprintf(capture_buf + capture_len, CAPTURE_MAX - capture_len, fmt, ap);
      if (n > 0) capture_len += (size_t)n;
      if (capture_len > CAPTURE_MAX - 1) capture_len = CAPTURE_MAX - 1;
    }
    return;
  }
  vfprintf(stderr, fmt, ap);
}

/* ---------------------------------------------------------------- pending */

uint64_t pending_add(struct session *s, fuse_req_t req, int op, fuse_ino_t ino, size_t size,
                     const struct fuse_file_info *fi) {
  struct pending *p = calloc(1, sizeof *p);
  p->req = req;
  p->op = op;
  p->ino = ino;
  p->size = size;
  if (fi) p->fi = *fi;
  p->reopen_generation = s->reopen_generation;
  pthread_mutex_lock(&s->plock);
  p->id = ++s->next_id;
  struct pending **b = &s->pending[p->id % PBUCKETS];
  p->pnext = *b;
  *b = p;
  pthread_mutex_unlock(&s->plock);
  return p->id;
}

static struct pending *pending_peek(struct session *s, uint64_t id) {
  pthread_mutex_lock(&s->plock);
  struct pending *p = s->pending[id % PBUCKETS];
  while (p && p->id != id) p = p->pnext;
  pthread_mutex_unlock(&s->plock);
  return p;
}

/* Removes and returns the request; the caller must reply and free it. */
static struct pending *pending_take(struct session *s, uint64_t id) {
  pthread_mutex_lock(&s->plock);
  struct pending **pp = &s->pending[id % PBUCKETS];
  while (*pp && (*pp)->id != id) pp = &(*pp)->pnext;
  struct pending *p = *pp;
  if (p) *pp = p->pnext;
  pthread_mutex_unlock(&s->plock);
  return p;
}

/* ------------------------------------------------------------- messaging */

static void msg_free(struct msg *m) {
  free(m->name);
  free(m->name2);
  free(m->value);
  free(m);
}

void post_msg(struct session *s, struct msg *m) {
  if (napi_call_threadsafe_function(s->tsfn, m, napi_tsfn_nonblocking) != napi_ok) msg_free(m);
}

/*
 * Entries and attributes come as records of ENTRY_WORDS int64s in a BigInt64Array shared with the wrapper,
 * which packs them just before the reply call: reading a dozen named properties of an object per reply
 * cost more than the rest of a lookup. Record layout (native/index.ts packs the same):
 *   nodeid, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks, atime, mtime, ctime (ns)
 */
enum { ENTRY_WORDS = 13, ENTRY_RECORDS = 64 };

/* What each code JS is called with means: exported as opNames, from which the wrapper picks its handlers. */
static const char *const OP_NAMES[OP_COUNT] = {
    [OP_LOOKUP] = "lookup",   [OP_GETATTR] = "getattr",         [OP_SETATTR] = "setattr",
    [OP_READLINK] = "readlink", [OP_MKNOD] = "mknod",           [OP_MKDIR] = "mkdir",
    [OP_UNLINK] = "unlink",   [OP_RMDIR] = "rmdir",             [OP_SYMLINK] = "symlink",
    [OP_RENAME] = "rename",   [OP_LINK] = "link",               [OP_OPEN] = "open",
    [OP_CREATE] = "create",   [OP_READDIR] = "readdir",
    [OP_READDIRPLUS] = "readdirplus", [OP_FSYNCDIR] = "fsyncdir", [OP_STATFS] = "statfs",
    [OP_SETXATTR] = "setxattr", [OP_GETXATTR] = "getxattr",     [OP_LISTXATTR] = "listxattr",
    [OP_REMOVEXATTR] = "removexattr", [OP_ACCESS] = "access",
    [OP_INIT] = "init", [OP_FORGET] = "forget", [OP_CLOSED] = "closed"};

static napi_value js_str(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value js_timespec(napi_env env, const struct timespec *ts) {
  napi_value v;
  /* seconds * 1e9 + ns, as a signed bigint */
  int64_t ns = (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
  napi_create_bigint_int64(env, ns, &v);
  return v;
}

static napi_value make_setattr(napi_env env, struct msg *m) {
  napi_value o;
  napi_create_object(env, &o);
  int t = m->to_set;
  if (t & FUSE_SET_ATTR_MODE) napi_set_named_property(env, o, "mode", js_num(env, m->attr.st_mode));
  if (t & FUSE_SET_ATTR_UID) napi_set_named_property(env, o, "uid", js_num(env, m->attr.st_uid));
  if (t & FUSE_SET_ATTR_GID) napi_set_named_property(env, o, "gid", js_num(env, m->attr.st_gid));
  if (t & FUSE_SET_ATTR_SIZE)
    napi_set_named_property(env, o, "size", js_num(env, (double)m->attr.st_size));
  if (t & FUSE_SET_ATTR_ATIME_NOW) napi_set_named_property(env, o, "atime", js_str(env, "now"));
  else if (t & FUSE_SET_ATTR_ATIME)
    napi_set_named_property(env, o, "atime", js_timespec(env, &m->attr.st_atim));
  if (t & FUSE_SET_ATTR_MTIME_NOW) napi_set_named_property(env, o, "mtime", js_str(env, "now"));
  else if (t & FUSE_SET_ATTR_MTIME)
    napi_set_named_property(env, o, "mtime", js_timespec(env, &m->attr.st_mtim));
  return o;
}

struct notify_job {
  int type; /* 1 entry, 2 inode */
  fuse_ino_t ino;
  char *name;
  size_t name_len;
  off_t off, len;
  napi_deferred deferred;
  int result;
  struct notify_job *next;
};

static void settle_notify(napi_env env, napi_deferred d, int result, const char *syscall) {
  if (result == 0 || result == -ENOENT) {
    napi_resolve_deferred(env, d, js_undefined(env));
    return;
  }
  int err = -result;
  const char *code = strerrorname_np(err);
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s, %s", code ? code : "EIO", strerror(err), syscall);
  napi_value e, v;
  napi_create_error(env, NULL, js_str(env, msg), &e);
  if (code) napi_set_named_property(env, e, "code", js_str(env, code));
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_reject_deferred(env, d, e);
}

static void session_cleanup(napi_env env, struct session *s);

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  struct session *s = context;
  struct msg *m = data;
  if (!env) { /* tsfn being torn down */
    msg_free(m);
    return;
  }
  /* dispatch(code, id, uid, gid, pid, umask, ...the op's arguments): plain numbers, no objects to build */
  napi_value argv[11];
  size_t argc = 0;
  napi_value zero = js_num(env, 0);
  switch (m->kind) {
  case M_NOTIFY_DONE:
    settle_notify(env, m->deferred, m->result, "fuse_lowlevel_notify");
    msg_free(m);
    return;
  case M_INIT:
    argv[argc++] = js_num(env, OP_INIT);
    for (int i = 0; i < 5; i++) argv[argc++] = zero;
    break;
  case M_FORGET:
    argv[argc++] = js_num(env, OP_FORGET);
    for (int i = 0; i < 5; i++) argv[argc++] = zero;
    argv[argc++] = js_i64(env, (int64_t)m->ino);
    argv[argc++] = js_i64(env, m->a);
    break;
  case M_CLOSED:
    session_cleanup(env, s);
    argv[argc++] = js_num(env, OP_CLOSED);
    for (int i = 0; i < 5; i++) argv[argc++] = zero;
    break;
  case M_REQUEST: {
    argv[argc++] = js_num(env, m->op);
    argv[argc++] = js_num(env, (double)m->id);
    argv[argc++] = js_num(env, m->ctx.uid);
    argv[argc++] = js_num(env, m->ctx.gid);
    argv[argc++] = js_num(env, m->ctx.pid);
    argv[argc++] = js_num(env, m->ctx.umask);
    napi_value ino = js_i64(env, (int64_t)m->ino);
    napi_value fh = m->has_fh ? js_i64(env, (int64_t)m->fh) : js_undefined(env);
#define NAME js_bytes(env, m->name, m->name_len)
#define NAME2 js_bytes(env, m->name2, m->name2_len)
    switch (m->op) {
    case OP_LOOKUP: case OP_UNLINK: case OP_RMDIR: case OP_REMOVEXATTR:
      argv[argc++] = ino; argv[argc++] = NAME; break;
    case OP_GETATTR:
      argv[argc++] = ino; argv[argc++] = fh; break;
    case OP_SETATTR:
      argv[argc++] = ino; argv[argc++] = make_setattr(env, m); argv[argc++] = fh; break;
    case OP_READLINK: case OP_STATFS: case OP_LISTXATTR:
      argv[argc++] = ino; break;
    case OP_MKNOD:
      argv[argc++] = ino; argv[argc++] = NAME; argv[argc++] = js_i64(env, m->a);
      argv[argc++] = js_i64(env, m->b); break;
    case OP_MKDIR:
      argv[argc++] = ino; argv[argc++] = NAME; argv[argc++] = js_i64(env, m->a); break;
    case OP_SYMLINK:
      argv[argc++] = NAME2; argv[argc++] = ino; argv[argc++] = NAME; break;
    case OP_RENAME:
      argv[argc++] = ino; argv[argc++] = NAME; argv[argc++] = js_i64(env, (int64_t)m->ino2);
      argv[argc++] = NAME2; argv[argc++] = js_i64(env, m->a); break;
    case OP_LINK:
      argv[argc++] = ino; argv[argc++] = js_i64(env, (int64_t)m->ino2); argv[argc++] = NAME; break;
    case OP_OPEN: case OP_ACCESS:
      argv[argc++] = ino; argv[argc++] = js_i64(env, m->a); break;
    case OP_CREATE:
      argv[argc++] = ino; argv[argc++] = NAME; argv[argc++] = js_i64(env, m->a);
      argv[argc++] = js_i64(env, m->b); break;
    case OP_READDIR: case OP_READDIRPLUS:
      argv[argc++] = ino; argv[argc++] = js_i64(env, m->a); break;
    case OP_FSYNCDIR:
      argv[argc++] = ino; argv[argc++] = js_bool(env, m->a != 0); break;
    case OP_SETXATTR:
      argv[argc++] = ino; argv[argc++] = NAME; argv[argc++] = js_buffer(env, m->value, m->value_len);
      argv[argc++] = js_i64(env, m->a); break;
    case OP_GETXATTR:
      argv[argc++] = ino; argv[argc++] = NAME; break;
    }
#undef NAME
#undef NAME2
    break;
  }
  }
  napi_value undef = js_undefined(env);
  napi_status st = napi_call_function(env, undef, js_cb, argc, argv, NULL);
  if (st == napi_pending_exception) {
    napi_value ex;
    napi_get_and_clear_last_exception(env, &ex);
    napi_fatal_exception(env, ex);
  }
  if (m->kind == M_CLOSED) napi_release_threadsafe_function(s->tsfn, napi_tsfn_release);
  msg_free(m);
}

/* --------------------------------------------------------------- threads */

static void block_signals(sigset_t *old) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, old);
}

/*
 * Requests are read by the reader thread (reader.c) and handled here, on the JS thread: a metadata request
 * crosses into JS and its answer is written by the reader, beside the caller. The data path never enters
 * JS: read, write and fsync are handed to the data threads (datapool.c). Each request runs in its own
 * callback scope, so the promises it settles run before the next.
 *
 * After the last request the thread keeps looking for the next one for a short while before it goes
 * back to sleep in the event loop, so a stream of requests never waits for it to wake up. A busy stretch
 * gives the event loop its turn every BUSY_NS, so copy-ups, the control socket and timers never wait
 * behind a stream of requests.
 */
#define SPIN_NS 50000
#define BUSY_NS 2000000

static void wake_closed(uv_handle_t *h) { free(h); }

static void session_ended(struct session *s) {
  reader_join(s); /* it is done with the wake-up handle */
  uv_close((uv_handle_t *)s->wake, wake_closed);
  s->wake = NULL;
  struct msg *m = calloc(1, sizeof *m);
  m->kind = M_CLOSED;
  deliver_msg(s, m);
}

/* A request's scopes open at its first call into JS, so one answered in C (the data path, release, a repeated
 * open) costs nothing of JS. */
static void handle_request(struct session *s, struct fuse_buf *buf) {
  s->handling = true;
  fuse_session_process_buf(s->se, buf);
  s->handling = false;
  if (!s->in_js) return;
  s->in_js = false;
  napi_close_callback_scope(s->env, s->callback_scope); /* runs the microtasks the request queued */
  napi_close_handle_scope(s->env, s->handle_scope);
}

static void serve_requests(uv_async_t *wake) {
  struct session *s = wake->data;
  uint64_t started = now_ns(), idle_since = 0;
  atomic_store(&s->js_idle, false);
  for (;;) {
    enum reader_turn turn = reader_turn(s);
    if (turn == TURN_ENDED) {
      napi_handle_scope scope;
      napi_open_handle_scope(s->env, &scope);
      session_ended(s);
      napi_close_handle_scope(s->env, scope);
      return;
    }
    uint64_t now = now_ns();
    if (turn == TURN_REQUEST) {
      handle_request(s, reader_begin(s));
      reader_done(s);
      idle_since = 0;
    } else {
      if (!idle_since) idle_since = now;
      if (now - idle_since > SPIN_NS) break;
      sched_yield(); /* a caller woken on this CPU runs now, not after the spin */
    }
    if (now - started > BUSY_NS) break; /* the loop's turn; the wake-up below brings this back */
  }
  atomic_store(&s->js_idle, true);
  if (reader_turn(s) != TURN_NONE) uv_async_send(wake); /* posted while this was leaving */
}

void deliver_msg(struct session *s, struct msg *m) {
  if (s->handling && !s->in_js) {
    s->in_js = true;
    napi_open_handle_scope(s->env, &s->handle_scope);
    napi_value resource;
    napi_get_reference_value(s->env, s->resource, &resource);
    napi_open_callback_scope(s->env, resource, s->async, &s->callback_scope);
  }
  napi_value fn;
  napi_get_reference_value(s->env, s->dispatch, &fn);
  call_js(s->env, fn, s, m);
}

static void *notify_main(void *arg) {
  struct session *s = arg;
  for (;;) {
    pthread_mutex_lock(&s->nlock);
    while (!s->nhead && !s->nstop) pthread_cond_wait(&s->ncond, &s->nlock);
    struct notify_job *j = s->nhead;
    if (!j) {
      pthread_mutex_unlock(&s->nlock);
      return NULL;
    }
    s->nhead = j->next;
    if (!s->nhead) s->ntail = NULL;
    pthread_mutex_unlock(&s->nlock);
    int r;
    if (j->type == 1) r = fuse_lowlevel_notify_inval_entry(s->se, j->ino, j->name, j->name_len);
    else r = fuse_lowlevel_notify_inval_inode(s->se, j->ino, j->off, j->len);
    struct msg *m = calloc(1, sizeof *m);
    m->kind = M_NOTIFY_DONE;
    m->deferred = j->deferred;
    m->result = r;
    post_msg(s, m);
    free(j->name);
    free(j);
  }
}

static void *unmount_main(void *arg) {
  struct session *s = arg;
  if (geteuid() == 0) {
    if (umount2(s->mountpoint, MNT_DETACH) == 0 || errno == EINVAL || errno == ENOENT)
      return NULL;
  }
  char *argv[] = {"fusermount3", "-u", "-q", "-z", "--", s->mountpoint, NULL};
  pid_t pid;
  if (posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ) == 0) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  } else {
    fprintf(stderr, "minifo: cannot unmount %s: fusermount3 not found\n", s->mountpoint);
  }
  return NULL;
}

/* Runs on the JS thread once the session ended. */
static void session_cleanup(napi_env env, struct session *s) {
  /* Fail what JS has not answered first: should the kernel still be connected, a request may hold a
   * directory lock the notifier thread waits for. Late replies from JS then find no such id. */
  for (size_t i = 0; i < PBUCKETS; i++) {
    pthread_mutex_lock(&s->plock);
    struct pending *p = s->pending[i];
    s->pending[i] = NULL;
    pthread_mutex_unlock(&s->plock);
    while (p) {
      struct pending *n = p->pnext;
      fuse_reply_err(p->req, EIO); /* frees the request */
      free(p);
      p = n;
    }
  }
  pthread_mutex_lock(&s->nlock);
  s->nstop = true;
  pthread_cond_signal(&s->ncond);
  pthread_mutex_unlock(&s->nlock);
  pthread_join(s->notify_thread, NULL); /* it drains the queue first */
  pthread_mutex_lock(&s->ulock);
  s->unmount_started = true;
  bool joinu = s->unmount_thread_live;
  pthread_mutex_unlock(&s->ulock);
  if (joinu) pthread_join(s->unmount_thread, NULL);
  datapool_stop(s); /* what is queued is answered (the kernel is gone) */
  fuse_session_unmount(s->se);
  fuse_session_destroy(s->se);
  s->se = NULL;
  handles_close_all(s);
  io_forget_all(s);
  reopen_forget_all(s);
  napi_delete_reference(env, s->dispatch);
  napi_delete_reference(env, s->entries_ref);
  napi_delete_reference(env, s->resource);
  napi_async_destroy(env, s->async);
  s->closed = 1;
}

/* ----------------------------------------------------------------- mount */

static struct session *get_session(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    throw_msg(env, "ERR_INVALID_ARG_TYPE", "invalid session");
    return NULL;
  }
  return p;
}

/* A call whose first argument is the session: a[0..N-1], and s (the call returns, thrown, when it is not one). */
#define SESSION_ARGS(N)                                                        \
  NAPI_ARGS(N)                                                                 \
  struct session *s = get_session(env, a[0]);                                  \
  if (!s) return NULL;

static void session_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct session *s = data;
  if (!s->closed) return; /* still mounted: the loop owns it (leak rather than crash) */
  nodeset_destroy(&s->xattr_free);
  free(s->mountpoint);
  free(s);
}

/* mount(mountpoint, argv: string[], {entryTimeout, attrTimeout, writebackCache, posixAcl}, dispatch) */
static napi_value Mount(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < 4) return throw_msg(env, "ERR_MISSING_ARGS", "mount needs 4 arguments");
  napi_value entries;
  napi_typedarray_type entries_type;
  size_t entries_len = 0;
  void *entries_data = NULL;
  if (!get_prop(env, a[2], "entries", &entries)) return NULL;
  bool typed = false;
  napi_is_typedarray(env, entries, &typed);
  if (typed) napi_get_typedarray_info(env, entries, &entries_type, &entries_len, &entries_data, NULL, NULL);
  if (!typed || entries_type != napi_bigint64_array || entries_len != ENTRY_WORDS * ENTRY_RECORDS)
    return throw_msg(env, "ERR_INVALID_ARG_TYPE", "mount: entries must be a BigInt64Array of entryWords * entryRecords");
  char *mp = get_path(env, a[0], "mountpoint", NULL);
  if (!mp) return NULL;
  uint32_t n = 0;
  napi_get_array_length(env, a[1], &n);
  char **argv = calloc(n + 1, sizeof *argv);
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    napi_get_element(env, a[1], i, &el);
    argv[i] = get_path(env, el, "argv", NULL);
    if (!argv[i]) {
      for (uint32_t j = 0; j < i; j++) free(argv[j]);
      free(argv);
      free(mp);
      return NULL;
    }
  }
  struct session *s = calloc(1, sizeof *s);
  s->mountpoint = mp;
  bool present;
  s->entry_timeout = 1.0;
  s->attr_timeout = 1.0;
  double d;
  if (get_prop_double(env, a[2], "entryTimeout", &d, &present) && present) s->entry_timeout = d;
  if (get_prop_double(env, a[2], "attrTimeout", &d, &present) && present) s->attr_timeout = d;
  get_prop_bool(env, a[2], "writebackCache", &s->writeback);
  get_prop_bool(env, a[2], "posixAcl", &s->posix_acl);
  s->entries = entries_data;
  pthread_mutex_init(&s->plock, NULL);
  pthread_mutex_init(&s->hlock, NULL);
  pthread_mutex_init(&s->nlock, NULL);
  pthread_mutex_init(&s->ulock, NULL);
  pthread_cond_init(&s->ncond, NULL);
  nodeset_init(&s->xattr_free);

  char capture[CAPTURE_MAX] = "";
  capture_buf = capture;
  capture_len = 0;
  struct fuse_args args = FUSE_ARGS_INIT((int)n, argv);
  s->se = fuse_session_new(&args, &minifo_ops, sizeof minifo_ops, s);
  char *canonical = realpath(mp, NULL); /* as the mount table will name it; not to be resolved once mounted */
  int ok = s->se && fuse_session_mount(s->se, mp) == 0 && passthrough_attach(s) == 0;
  if (ok && canonical) readahead_raise(s, canonical);
  free(canonical);
  capture_buf = NULL;
  fuse_opt_free_args(&args);
  for (uint32_t i = 0; i < n; i++) free(argv[i]);
  free(argv);
  if (!ok) {
    if (s->se) fuse_session_destroy(s->se);
    char *nl;
    while ((nl = strchr(capture, '\n')) != NULL) *nl = ' ';
    size_t cl = strlen(capture);
    while (cl && capture[cl - 1] == ' ') capture[--cl] = 0;
    char msg[CAPTURE_MAX + 300];
    snprintf(msg, sizeof msg, "cannot mount FUSE filesystem on %s%s%s", mp, cl ? ": " : "",
             capture);
    free(mp);
    nodeset_destroy(&s->xattr_free);
    free(s);
    return throw_msg(env, "EMOUNT", msg);
  }

  napi_value name = js_str(env, "minifo_fuse");
  if (napi_create_threadsafe_function(env, a[3], NULL, name, 0, 1, NULL, NULL, s, call_js,
                                      &s->tsfn) != napi_ok) {
    fuse_session_unmount(s->se);
    fuse_session_destroy(s->se);
    free(mp);
    nodeset_destroy(&s->xattr_free);
    free(s);
    napi_throw_last(env, "napi_create_threadsafe_function");
    return NULL;
  }
  s->env = env;
  napi_value resource;
  uv_loop_t *loop;
  if (napi_create_reference(env, a[3], 1, &s->dispatch) != napi_ok || napi_create_reference(env, entries, 1, &s->entries_ref) != napi_ok ||
      napi_create_object(env, &resource) != napi_ok ||
      napi_create_reference(env, resource, 1, &s->resource) != napi_ok ||
      napi_async_init(env, resource, name, &s->async) != napi_ok || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_last(env, "mount: setting up the request loop");
    napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
    fuse_session_unmount(s->se);
    fuse_session_destroy(s->se);
    free(mp);
    nodeset_destroy(&s->xattr_free);
    free(s);
    return NULL;
  }
  datapool_start(s);
  s->wake = calloc(1, sizeof *s->wake);
  uv_async_init(loop, s->wake, serve_requests);
  s->wake->data = s;
  atomic_store(&s->js_idle, true);
  reader_start(s);
  sigset_t old;
  block_signals(&old);
  pthread_create(&s->notify_thread, NULL, notify_main, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);

  napi_value ext;
  NAPI_OK(env, napi_create_external(env, s, session_finalize, NULL, &ext));
  return ext;
}

static napi_value Unmount(napi_env env, napi_callback_info info) {
  SESSION_ARGS(1)
  if (s->closed) return js_undefined(env);
  pthread_mutex_lock(&s->ulock);
  if (!s->unmount_started) {
    s->unmount_started = true;
    sigset_t old;
    block_signals(&old);
    s->unmount_thread_live = pthread_create(&s->unmount_thread, NULL, unmount_main, s) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  pthread_mutex_unlock(&s->ulock);
  return js_undefined(env);
}

/* ----------------------------------------------------------------- replies */

/* Looks up (without removing) request `id` of session a[0]; throws when unknown. */
static struct pending *peek_req(napi_env env, napi_value *a, struct session **sp, uint64_t *idp) {
  struct session *s = get_session(env, a[0]);
  if (!s) return NULL;
  int64_t id;
  if (!get_i64(env, a[1], "id", &id)) return NULL;
  struct pending *p = s->closed ? NULL : pending_peek(s, (uint64_t)id);
  if (!p) {
    char msg[100];
    snprintf(msg, sizeof msg, "unknown FUSE request id %lld", (long long)id);
    throw_msg(env, "ERR_FUSE_UNKNOWN_REQUEST", msg);
    return NULL;
  }
  *sp = s;
  *idp = (uint64_t)id;
  return p;
}

#define REPLY_PROLOGUE(N)                                                      \
  NAPI_ARGS(N)                                                                 \
  struct session *s;                                                           \
  uint64_t id;                                                                 \
  struct pending *p = peek_req(env, a, &s, &id);                               \
  if (!p) return NULL;

static void finish(struct session *s, uint64_t id) { free(pending_take(s, id)); }

static napi_value ReplyErr(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(3)
  int64_t err;
  if (!get_i64(env, a[2], "errno", &err)) return NULL;
  if (err < 0) err = -err;
  fuse_req_t req = p->req;
  finish(s, id);
  return js_bool(env, fuse_reply_err(req, (int)err) == 0);
}

static void attr_of_record(const int64_t *w, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_ino = (ino_t)w[1];
  st->st_mode = (mode_t)w[2];
  st->st_nlink = (nlink_t)w[3];
  st->st_uid = (uid_t)w[4];
  st->st_gid = (gid_t)w[5];
  st->st_rdev = (dev_t)w[6];
  st->st_size = (off_t)w[7];
  st->st_blksize = (blksize_t)w[8];
  st->st_blocks = (blkcnt_t)w[9];
  st->st_atim = timespec_of_ns(w[10]);
  st->st_mtim = timespec_of_ns(w[11]);
  st->st_ctim = timespec_of_ns(w[12]);
}

/* Record i as an entry. `dirent`: for readdirplus, where even a negative entry's attributes give the name's
 * inode number and type; a negative lookup's are never read (ENOENT carries none). */
static void entry_of_record(struct session *s, size_t i, bool dirent, struct fuse_entry_param *e) {
  const int64_t *w = s->entries + i * ENTRY_WORDS;
  memset(e, 0, sizeof *e);
  e->ino = (fuse_ino_t)w[0];
  e->entry_timeout = s->entry_timeout;
  e->attr_timeout = s->attr_timeout;
  if (e->ino != 0 || dirent) attr_of_record(w, &e->attr);
}

/* replyEntry(s, id): the entry is record 0. */
static napi_value ReplyEntry(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(2)
  struct fuse_entry_param e;
  entry_of_record(s, 0, false, &e);
  fuse_req_t req = p->req;
  finish(s, id);
  return js_bool(env, fuse_reply_entry(req, &e) == 0);
}

/* replyAttr(s, id): the attributes are record 0's. */
static napi_value ReplyAttr(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(2)
  struct stat st;
  attr_of_record(s->entries, &st);
  fuse_req_t req = p->req;
  finish(s, id);
  return js_bool(env, fuse_reply_attr(req, &st, s->attr_timeout) == 0);
}

static napi_value ReplyBuf(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(3)
  void *data;
  size_t len;
  if (!get_buffer(env, a[2], "data", &data, &len)) return NULL;
  fuse_req_t req = p->req;
  int op = p->op;
  size_t size = p->size;
  finish(s, id);
  int r;
  if (op == OP_READLINK) {
    char *z = malloc(len + 1);
    memcpy(z, data, len);
    z[len] = 0;
    r = fuse_reply_readlink(req, z);
    free(z);
  } else if (op == OP_GETXATTR || op == OP_LISTXATTR) {
    if (size == 0) r = fuse_reply_xattr(req, len);
    else if (len > size) r = fuse_reply_err(req, ERANGE);
    else r = fuse_reply_buf(req, data, len);
  } else {
    r = fuse_reply_buf(req, data, len);
  }
  return js_bool(env, r == 0);
}

/* Reads how an open/create reply serves the open, and its fd; false (thrown) on bad input. */
static bool get_open_spec(napi_env env, napi_value o, int *fd, struct open_spec *spec) {
  int64_t fd64, ino;
  if (!get_prop_i64(env, o, "fd", true, &fd64, NULL) || !get_prop_i64(env, o, "ino", true, &ino, NULL)) return false;
  napi_value ev;
  if (!get_prop(env, o, "extents", &ev) || !get_extents(env, ev, &spec->ext, &spec->next)) return false;
  spec->ino = (uint64_t)ino;
  if (!get_prop_bool(env, o, "keepCache", &spec->keep_cache) || !get_prop_bool(env, o, "directIo", &spec->direct_io) ||
      !get_prop_bool(env, o, "passthrough", &spec->passthrough) ||
      !get_prop_bool(env, o, "followsCopyUp", &spec->follows_copy_up)) {
    free(spec->ext);
    return false;
  }
  if (fd64 < 0 || fcntl((int)fd64, F_GETFD) < 0) {
    free(spec->ext);
    throw_msg(env, "EBADF", "open reply: fd is not an open file descriptor");
    return false;
  }
  *fd = (int)fd64;
  return true;
}

/* An open reply's `reopen` ({path, flags}): *path NULL when absent. False (thrown) on bad input. */
static bool get_reopen(napi_env env, napi_value o, char **path, int *flags) {
  *path = NULL;
  napi_value rv, pv;
  if (!get_prop(env, o, "reopen", &rv)) return false;
  if (is_nullish(env, rv)) return true;
  int64_t f;
  if (!get_prop(env, rv, "path", &pv) || !get_prop_i64(env, rv, "flags", true, &f, NULL)) return false;
  *path = get_path(env, pv, "reopen.path", NULL);
  *flags = (int)f;
  return *path != NULL;
}

/* The node is open passthrough to a file that is no longer its content (it was reverted meanwhile): the
 * kernel would refuse this open either way. ESTALE makes it look the name up again, and JS (told by the
 * 0 returned) lets the old node go, so the name comes back as a new inode. */
static napi_value reply_stale(napi_env env, struct session *s, uint64_t id, fuse_req_t req) {
  finish(s, id);
  fuse_reply_err(req, ESTALE);
  return js_i64(env, 0);
}

/* replyOpen(s, id, open) -> fh (negative: the kernel did not take it, and the handle is gone). */
static napi_value ReplyOpen(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(3)
  int fd, reopen_flags = 0;
  struct open_spec spec;
  char *reopen_path;
  if (!get_open_spec(env, a[2], &fd, &spec)) return NULL;
  if (!get_reopen(env, a[2], &reopen_path, &reopen_flags)) {
    free(spec.ext);
    return NULL;
  }
  struct fuse_file_info fi = p->fi;
  struct handle *h = handle_open(s, fd, &spec, p->ino, &fi);
  if (!h) {
    free(reopen_path);
    return reply_stale(env, s, id, p->req);
  }
  fuse_req_t req = p->req;
  uint64_t generation = p->reopen_generation;
  finish(s, id);
  uint64_t fh = h->fh;
  int sent = fuse_reply_open(req, &fi);
  io_replied();
  if (sent != 0) {
    free(reopen_path);
    handle_release(s, h->fh);
    return js_i64(env, -(int64_t)fh);
  }
  if (reopen_path) reopen_remember(s, h, generation, reopen_path, reopen_flags, &spec);
  return js_i64(env, (int64_t)fh);
}

/* replyCreate(s, id, open) -> fh (negative: not delivered, the handle is gone, and forget follows). The
 * entry is record 0. */
static napi_value ReplyCreate(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(3)
  struct fuse_entry_param e;
  entry_of_record(s, 0, false, &e);
  if (e.ino == 0) return throw_msg(env, "ERR_INVALID_ARG_VALUE", "create reply: nodeid 0");
  int fd;
  struct open_spec spec;
  if (!get_open_spec(env, a[2], &fd, &spec)) return NULL;
  struct fuse_file_info fi = p->fi;
  struct handle *h = handle_open(s, fd, &spec, e.ino, &fi);
  if (!h) return reply_stale(env, s, id, p->req);
  fuse_req_t req = p->req;
  finish(s, id);
  uint64_t fh = h->fh;
  int sent = fuse_reply_create(req, &e, &fi);
  io_replied();
  if (sent != 0) {
    handle_release(s, h->fh);
    struct msg *m = calloc(1, sizeof *m);
    m->kind = M_FORGET;
    m->ino = e.ino;
    m->a = 1;
    post_msg(s, m);
    return js_i64(env, -(int64_t)fh);
  }
  return js_i64(env, (int64_t)fh);
}

/* replyReaddir(s, id, entries) -> number of entries the kernel took (0 when not delivered). For readdirplus,
 * entry i is record i: what does not fit the records does not fit the reply either. */
static napi_value ReplyReaddir(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(3)
  bool plus = p->op == OP_READDIRPLUS;
  if (p->op != OP_READDIR && !plus)
    return throw_msg(env, "ERR_INVALID_STATE", "replyReaddir: not a readdir request");
  uint32_t n = 0;
  bool isarr = false;
  napi_is_array(env, a[2], &isarr);
  if (!isarr) return throw_msg(env, "ERR_INVALID_ARG_TYPE", "entries must be an array");
  napi_get_array_length(env, a[2], &n);
  size_t size = p->size, pos = 0;
  char *buf = malloc(size ? size : 1);
  uint32_t fitted = 0;
  if (plus && n > ENTRY_RECORDS) n = ENTRY_RECORDS;
  for (uint32_t i = 0; i < n; i++) {
    napi_value el, nv;
    napi_get_element(env, a[2], i, &el);
    int64_t off;
    if (!get_prop(env, el, "name", &nv) || !get_prop_i64(env, el, "off", true, &off, NULL)) {
      free(buf);
      return NULL;
    }
    char *name = get_path(env, nv, "name", NULL);
    if (!name) {
      free(buf);
      return NULL;
    }
    size_t need;
    if (plus) {
      struct fuse_entry_param e;
      entry_of_record(s, i, true, &e);
      need = fuse_add_direntry_plus(p->req, buf + pos, size - pos, name, &e, off);
    } else {
      struct stat st;
      memset(&st, 0, sizeof st);
      int64_t ino, mode;
      if (!get_prop_i64(env, el, "ino", true, &ino, NULL) ||
          !get_prop_i64(env, el, "mode", true, &mode, NULL)) {
        free(name);
        free(buf);
        return NULL;
      }
      st.st_ino = (ino_t)ino;
      st.st_mode = (mode_t)mode;
      need = fuse_add_direntry(p->req, buf + pos, size - pos, name, &st, off);
    }
    free(name);
    if (need > size - pos) break;
    pos += need;
    fitted++;
  }
  fuse_req_t req = p->req;
  finish(s, id);
  int r = fuse_reply_buf(req, buf, pos);
  free(buf);
  return js_i64(env, r == 0 ? fitted : 0);
}

static napi_value ReplyStatfs(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(3)
  struct statvfs v;
  memset(&v, 0, sizeof v);
  int64_t x;
#define F(name, field)                                               \
  if (!get_prop_i64(env, a[2], name, true, &x, NULL)) return NULL;   \
  v.field = x;
  F("bsize", f_bsize)
  F("frsize", f_frsize)
  F("blocks", f_blocks)
  F("bfree", f_bfree)
  F("bavail", f_bavail)
  F("files", f_files)
  F("ffree", f_ffree)
  F("favail", f_favail)
  F("namemax", f_namemax)
#undef F
  fuse_req_t req = p->req;
  finish(s, id);
  return js_bool(env, fuse_reply_statfs(req, &v) == 0);
}

/* ---------------------------------------------------- handles from JS side */

static struct handle *get_handle_arg(napi_env env, struct session *s, napi_value v) {
  int64_t fh;
  if (!get_i64(env, v, "fh", &fh)) return NULL;
  struct handle *h = s->closed ? NULL : handle_get(s, (uint64_t)fh);
  if (!h) {
    char msg[100];
    snprintf(msg, sizeof msg, "unknown file handle %lld", (long long)fh);
    throw_msg(env, "EBADF", msg);
  }
  return h;
}

/* retarget(s, fh, fd, extents?) */
static napi_value Retarget(napi_env env, napi_callback_info info) {
  SESSION_ARGS(4)
  int64_t fd;
  if (!get_i64(env, a[2], "fd", &fd)) return NULL;
  if (fd < 0 || fcntl((int)fd, F_GETFD) < 0)
    return throw_msg(env, "EBADF", "retarget: fd is not an open file descriptor");
  struct extent *ext;
  size_t next;
  if (!get_extents(env, a[3], &ext, &next)) return NULL;
  struct handle *h = get_handle_arg(env, s, a[1]);
  if (!h) {
    free(ext);
    return NULL;
  }
  pthread_rwlock_wrlock(&h->lock);
  int oldfd = h->fd;
  struct extent *oldext = h->ext;
  h->fd = (int)fd;
  h->ext = ext;
  h->next = next;
  h->follows_copy_up = false; /* it reads the copy now */
  h->ext_total = 0;
  for (size_t i = 0; i < next; i++) h->ext_total += ext[i].len;
  pthread_rwlock_unlock(&h->lock);
  handle_put(s, h);
  if (oldfd >= 0 && oldfd != (int)fd) close(oldfd);
  free(oldext);
  return js_undefined(env);
}

/* openFiles(s, nodeid?) -> [{fh, nodeid, flags, followsCopyUp}]: the open files of a node, or of all. */
static napi_value OpenFiles(napi_env env, napi_callback_info info) {
  SESSION_ARGS(2)
  int64_t only = 0;
  if (argc > 1 && !is_nullish(env, a[1]) && !get_i64(env, a[1], "nodeid", &only)) return NULL;
  napi_value out;
  NAPI_OK(env, napi_create_array(env, &out));
  uint32_t n = 0;
  pthread_mutex_lock(&s->hlock);
  for (size_t i = 0; i < HBUCKETS && !s->closed; i++) {
    for (struct handle *h = s->handles[i]; h; h = h->hnext) {
      if (only && h->nodeid != (fuse_ino_t)only) continue;
      napi_value o;
      napi_create_object(env, &o);
      napi_set_named_property(env, o, "fh", js_i64(env, (int64_t)h->fh));
      napi_set_named_property(env, o, "nodeid", js_i64(env, (int64_t)h->nodeid));
      napi_set_named_property(env, o, "flags", js_num(env, h->flags));
      napi_set_named_property(env, o, "followsCopyUp", js_bool(env, h->follows_copy_up));
      napi_set_element(env, out, n++, o);
    }
  }
  pthread_mutex_unlock(&s->hlock);
  return out;
}

/* dropReopens(s): the engine starts a change; no open is repeated from what it said before. */
static napi_value DropReopens(napi_env env, napi_callback_info info) {
  SESSION_ARGS(1)
  s->reopen_generation++;
  return js_undefined(env);
}

static napi_value DupHandleFd(napi_env env, napi_callback_info info) {
  SESSION_ARGS(2)
  struct handle *h = get_handle_arg(env, s, a[1]);
  if (!h) return NULL;
  pthread_rwlock_rdlock(&h->lock);
  int fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
  int err = errno;
  pthread_rwlock_unlock(&h->lock);
  handle_put(s, h);
  if (fd < 0) return throw_errno(env, err, "dup", NULL);
  return js_i64(env, fd);
}

/* --------------------------------------------------------------- notifier */

static napi_value queue_notify(napi_env env, struct session *s, struct notify_job *j) {
  napi_value promise;
  NAPI_OK(env, napi_create_promise(env, &j->deferred, &promise));
  pthread_mutex_lock(&s->nlock);
  bool stopped = s->nstop || s->closed;
  if (!stopped) {
    if (s->ntail) s->ntail->next = j;
    else s->nhead = j;
    s->ntail = j;
    pthread_cond_signal(&s->ncond);
  }
  pthread_mutex_unlock(&s->nlock);
  if (stopped) { /* nothing is cached any more */
    napi_resolve_deferred(env, j->deferred, js_undefined(env));
    free(j->name);
    free(j);
  }
  return promise;
}

/* invalidateEntry(s, parent, name) -> Promise<void> */
static napi_value InvalidateEntry(napi_env env, napi_callback_info info) {
  SESSION_ARGS(3)
  int64_t parent;
  if (!get_i64(env, a[1], "parent", &parent)) return NULL;
  size_t len;
  char *name = get_path(env, a[2], "name", &len);
  if (!name) return NULL;
  struct notify_job *j = calloc(1, sizeof *j);
  j->type = 1;
  j->ino = (fuse_ino_t)parent;
  j->name = name;
  j->name_len = len;
  return queue_notify(env, s, j);
}

/* invalidateInode(s, nodeid, offset, length) -> Promise<void> */
static napi_value InvalidateInode(napi_env env, napi_callback_info info) {
  SESSION_ARGS(4)
  int64_t ino, off = 0, len = 0;
  if (!get_i64(env, a[1], "nodeid", &ino)) return NULL;
  if (!is_nullish(env, a[2]) && !get_i64(env, a[2], "offset", &off)) return NULL;
  if (!is_nullish(env, a[3]) && !get_i64(env, a[3], "length", &len)) return NULL;
  struct notify_job *j = calloc(1, sizeof *j);
  j->type = 2;
  j->ino = (fuse_ino_t)ino;
  j->off = off;
  j->len = len;
  return queue_notify(env, s, j);
}

/* setXattrFree(s, nodeid, free): JS found the node without xattrs (true), or one may have changed (false). */
static napi_value SetXattrFree(napi_env env, napi_callback_info info) {
  SESSION_ARGS(3)
  int64_t nodeid;
  if (!get_i64(env, a[1], "nodeid", &nodeid)) return NULL;
  bool free_of = false;
  if (napi_get_value_bool(env, a[2], &free_of) != napi_ok) return throw_msg(env, "ERR_INVALID_ARG_TYPE", "free must be a boolean");
  if (free_of) nodeset_add(&s->xattr_free, (uint64_t)nodeid);
  else nodeset_remove(&s->xattr_free, (uint64_t)nodeid);
  return js_undefined(env);
}

static napi_value DebugStats(napi_env env, napi_callback_info info) {
  SESSION_ARGS(1)
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "writeRequests", js_num(env, (double)s->write_requests));
  napi_set_named_property(env, o, "maxWriteSize", js_num(env, (double)s->max_write_seen));
  napi_set_named_property(env, o, "maxReadSize", js_num(env, (double)s->max_read_seen));
  size_t open = 0;
  pthread_mutex_lock(&s->hlock);
  for (size_t i = 0; i < HBUCKETS; i++)
    for (struct handle *h = s->handles[i]; h; h = h->hnext) open++;
  pthread_mutex_unlock(&s->hlock);
  napi_set_named_property(env, o, "openHandles", js_num(env, (double)open));
  napi_set_named_property(env, o, "passthrough", js_bool(env, s->passthrough));
  napi_set_named_property(env, o, "passthroughOpens", js_num(env, io_passthrough_opens(s)));
  napi_set_named_property(env, o, "reopens", js_num(env, (double)s->reopens_answered));
  napi_set_named_property(env, o, "attrsFromOpenFiles", js_num(env, (double)s->attrs_from_open_files));
  napi_set_named_property(env, o, "readaheadKib", js_num(env, s->readahead_kib));
  napi_set_named_property(env, o, "answersByReader", js_num(env, (double)atomic_load(&s->reader.answers)));
  napi_set_named_property(env, o, "readerAvoidsCpu", js_num(env, atomic_load(&s->reader.avoided_cpu)));
  napi_set_named_property(env, o, "jsThreadHops", js_num(env, (double)atomic_load(&s->reader.hops)));
  return o;
}

napi_value init_session_api(napi_env env, napi_value exports) {
  fuse_set_log_func(log_func);
  export_fn(env, exports, "mount", Mount);
  export_fn(env, exports, "unmount", Unmount);
  export_fn(env, exports, "replyErr", ReplyErr);
  export_fn(env, exports, "replyEntry", ReplyEntry);
  export_fn(env, exports, "replyAttr", ReplyAttr);
  export_fn(env, exports, "replyBuf", ReplyBuf);
  export_fn(env, exports, "replyOpen", ReplyOpen);
  export_fn(env, exports, "replyCreate", ReplyCreate);
  export_fn(env, exports, "replyReaddir", ReplyReaddir);
  export_fn(env, exports, "replyStatfs", ReplyStatfs);
  export_fn(env, exports, "retarget", Retarget);
  export_fn(env, exports, "dupHandleFd", DupHandleFd);
  export_fn(env, exports, "openFiles", OpenFiles);
  export_fn(env, exports, "dropReopens", DropReopens);
  export_fn(env, exports, "invalidateEntry", InvalidateEntry);
  export_fn(env, exports, "invalidateInode", InvalidateInode);
  export_fn(env, exports, "setXattrFree", SetXattrFree);
  export_fn(env, exports, "debugStats", DebugStats);
  napi_value names;
  napi_create_array_with_length(env, OP_COUNT, &names);
  for (int i = 0; i < OP_COUNT; i++)
    if (OP_NAMES[i]) napi_set_element(env, names, (uint32_t)i, js_str(env, OP_NAMES[i]));
  napi_set_named_property(env, exports, "opNames", names);
  napi_set_named_property(env, exports, "entryWords", js_num(env, ENTRY_WORDS));
  napi_set_named_property(env, exports, "entryRecords", js_num(env, ENTRY_RECORDS));
  return exports;
}
