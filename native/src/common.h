/* minifo_fuse: shared declarations of the FUSE 3 low-level N-API binding. */
#ifndef MINIFO_COMMON_H
#define MINIFO_COMMON_H

#define FUSE_USE_VERSION 314
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <fuse_lowlevel.h>
#include <node_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

/* The monotonic clock in nanoseconds: for the spins of the JS thread and the reader. */
static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Nanoseconds since the epoch (negative before it) as a timespec, whose tv_nsec is never negative. */
static inline struct timespec timespec_of_ns(int64_t ns) {
  int64_t sec = ns / 1000000000, rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    sec--;
  }
  return (struct timespec){.tv_sec = sec, .tv_nsec = rem};
}

/* ---- napi helpers (napi_util.c) ---- */
#define NAPI_OK(env, call)                                                      \
  do {                                                                          \
    if ((call) != napi_ok) { napi_throw_last(env, #call); return NULL; }        \
  } while (0)

void napi_throw_last(napi_env env, const char *what);
napi_value throw_msg(napi_env env, const char *code, const char *msg);
/* Throws a Node-style system error: message "CODE: strerror, syscall 'path'",
 * .code, .errno (negative), .syscall, .path (when path is not NULL). */
napi_value throw_errno(napi_env env, int err, const char *syscall, napi_value path);
napi_value js_undefined(napi_env env);
napi_value js_bool(napi_env env, bool v);
napi_value js_num(napi_env env, double v);
napi_value js_i64(napi_env env, int64_t v);
napi_value js_bigint_u64(napi_env env, uint64_t v);
napi_value js_buffer(napi_env env, const void *data, size_t len);
/* Bytes as a byte string (one char a byte, latin1), the engine's form of names and paths. */
napi_value js_bytes(napi_env env, const char *data, size_t len);
bool is_nullish(napi_env env, napi_value v);
/* Reads a bigint or number as int64; false (and throws) when it is neither. */
bool get_i64(napi_env env, napi_value v, const char *what, int64_t *out);
bool get_u32(napi_env env, napi_value v, const char *what, uint32_t *out);
bool get_prop(napi_env env, napi_value obj, const char *name, napi_value *out);
/* Optional property: *present=false when undefined/null. */
bool get_prop_i64(napi_env env, napi_value obj, const char *name, bool required, int64_t *out, bool *present);
bool get_prop_double(napi_env env, napi_value obj, const char *name, double *out, bool *present);
bool get_prop_bool(napi_env env, napi_value obj, const char *name, bool *out);
/* A malloc'ed NUL-terminated copy of a string or Buffer argument (raw bytes). */
char *get_path(napi_env env, napi_value v, const char *what, size_t *len);
/* Borrowed pointer into a Buffer argument. */
bool get_buffer(napi_env env, napi_value v, const char *what, void **data, size_t *len);
/* Reads {offset,length}[] into a malloc'ed array (count may be 0 -> NULL). */
struct extent { off_t off; off_t len; };
bool get_extents(napi_env env, napi_value v, struct extent **out, size_t *count);
/* Fills a struct stat from an AttrIn-like object (BigIntStats accepted). */
void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);
/* The N arguments of a call as a[0..N-1]; those not given are undefined. */
#define NAPI_ARGS(N)                                                    \
  size_t argc = N;                                                      \
  napi_value a[N];                                                      \
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, a, NULL, NULL));      \
  for (size_t i_ = argc; i_ < N; i_++) napi_get_undefined(env, &a[i_]);

/* The largest READ and WRITE (max_read, max_write): 1 MiB a request. */
#define MAX_IO (1u << 20)

/* ---- file handles (ops.c) ---- */
struct handle {
  uint64_t fh;
  uint64_t ino;          /* st_ino the open was given: the C-side attribute replies report it (ops.c) */
  fuse_ino_t nodeid;
  int fd;
  struct extent *ext;    /* NULL: plain file */
  size_t next;
  off_t ext_total;
  pthread_rwlock_t lock; /* read: data path; write: retarget */
  int io;                /* enum io_mode: how the kernel does this open's I/O (passthrough.c) */
  int flags;             /* the open's flags, as the kernel sent them */
  bool follows_copy_up;  /* the engine points it at the copy when the node is copied up (until retarget) */
  int refs;              /* table ref + users (under session->hlock) */
  struct handle *hnext;  /* hash chain by fh */
  struct handle *nnext;  /* hash chain by nodeid (session->by_node) */
};

/* ---- pending requests ---- */
struct pending {
  uint64_t id;
  fuse_req_t req;
  int op;
  size_t size;                /* getxattr/listxattr/readdir size */
  fuse_ino_t ino;
  struct fuse_file_info fi;   /* copy, for open/create replies */
  uint64_t reopen_generation; /* the session's when the request came (reopen.c) */
  struct pending *pnext;
};

/* ---- a thread-safe set of nodeids (nodeset.c) ---- */
struct nodeset {
  pthread_mutex_t lock;
  uint64_t *slots;
  size_t cap, used; /* used: slots not empty (members and tombstones) */
};
void nodeset_init(struct nodeset *set);
void nodeset_destroy(struct nodeset *set);
bool nodeset_has(struct nodeset *set, uint64_t id);
void nodeset_add(struct nodeset *set, uint64_t id);
void nodeset_remove(struct nodeset *set, uint64_t id);

/* ---- the data path's threads (datapool.c) ---- */
struct session;
struct data_job {
  void (*run)(struct data_job *job); /* does the work and replies to req */
  struct session *s;
  fuse_req_t req;
  struct handle *h; /* referenced; put after the job ran */
  off_t off, len;
  int flags;  /* fsync: datasync; fallocate: mode */
  char *data; /* write: a copy of the data (the request buffer is reused at once) */
  struct data_job *next;
};
#define DATA_THREADS 4
void datapool_start(struct session *s);
void datapool_submit(struct session *s, struct data_job *job);
/* Runs what is queued, then joins the threads. */
void datapool_stop(struct session *s);

#define HBUCKETS 1024
#define PBUCKETS 1024
#define NIO_BUCKETS 256
#define RBUCKETS 4096

struct node_io;
struct reopen;

struct notify_job;

/* The kernel's request and answer headers (uapi/linux/fuse.h), which libfuse keeps to itself. */
struct k_in_header { uint32_t len, opcode; uint64_t unique; uint64_t nodeid; uint32_t uid, gid, pid; uint16_t total_extlen, padding; };
struct k_out_header { uint32_t len; int32_t error; uint64_t unique; };

/* The reader thread and the request it handed over (reader.c). */
struct reader {
  pthread_t thread;
  struct fuse_buf buf;
  _Atomic int state;
  uint64_t unique;
  char *answer;          /* the answer the JS thread gave while handling it, for the reader to write */
  size_t answer_len, answer_cap;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool sleeping;         /* waiting on cond for the JS thread */
  _Atomic uint64_t answers; /* written by the reader (debug counter) */
  _Atomic int js_cpu;    /* where the JS thread took the last request; -1 before the first */
  _Atomic int avoided_cpu; /* the vCPU the reader is kept off; -1: none */
  uint32_t caller_pid;    /* the process of the request being handled */
  unsigned since_look;    /* answers since the reader last looked where the caller runs */
  _Atomic bool js_hop;    /* the caller runs on the JS thread's vCPU: the JS thread moves off it */
  _Atomic uint64_t hops;  /* debug counter */
  struct reader_cpus *cpus; /* the vCPUs the reader may use (reader.c) */
  _Atomic bool placing;   /* the reader places itself and the JS thread (until the kernel refuses) */
};

struct session {
  struct fuse_session *se;
  char *mountpoint;
  double entry_timeout, attr_timeout;
  bool writeback;
  bool posix_acl; /* false: system.posix_acl_* xattrs are refused here, without a trip to JS */
  /* Nodes JS found without xattrs: getxattr and listxattr are answered here until an xattr changes. */
  struct nodeset xattr_free;
  /* FUSE passthrough: negotiated at INIT; what each nodeid has open (JS thread only, passthrough.c). */
  bool passthrough;
  uint64_t pt_init_unique;
  struct node_io *node_io[NIO_BUCKETS];
  /* Opens the engine let C repeat, per nodeid, while reopen_generation stays (reopen.c; JS thread only). */
  struct reopen *reopens[RBUCKETS];
  uint64_t reopen_generation;
  uint64_t reopens_answered; /* debug counter */
  unsigned readahead_kib;     /* the mount's readahead window, when raised (readahead.c); 0: the kernel's */
  /* Requests are read by the reader thread and handled on the JS thread (serve_requests in session.c). */
  napi_env env;
  napi_ref dispatch;              /* the wrapper's dispatch function */
  napi_ref resource;              /* async resource of the callback scope each request runs in */
  napi_async_context async;
  struct reader reader;
  uv_async_t *wake;               /* the reader's call when the JS thread is not looking */
  _Atomic bool js_idle;
  bool handling, in_js;           /* a request is being handled; its JS scopes are open (session.c) */
  napi_handle_scope handle_scope;
  napi_callback_scope callback_scope;
  /* Replies carry entries and attributes in this shared BigInt64Array (session.c: ENTRY_WORDS). */
  int64_t *entries;
  napi_ref entries_ref;
  /* For messages from other threads (notifier) and from inside reply calls. */
  napi_threadsafe_function tsfn;

  pthread_mutex_t plock;
  struct pending *pending[PBUCKETS];
  uint64_t next_id;

  pthread_mutex_t hlock;
  struct handle *handles[HBUCKETS];
  struct handle *by_node[HBUCKETS]; /* the same handles, by nodeid */
  uint64_t next_fh;

  /* data path threads */
  pthread_t dthreads[DATA_THREADS];
  pthread_mutex_t dlock;
  pthread_cond_t dcond;
  struct data_job *dhead, *dtail;
  bool dstop;

  /* notifier thread */
  pthread_t notify_thread;
  pthread_mutex_t nlock;
  pthread_cond_t ncond;
  struct notify_job *nhead, *ntail;
  bool nstop;

  /* unmount */
  pthread_mutex_t ulock;
  bool unmount_started;
  bool unmount_thread_live;
  pthread_t unmount_thread;

  volatile int closed;        /* loop ended and cleaned up (JS thread only) */

  /* debug counters (JS thread only: the request handlers count them) */
  uint64_t write_requests, max_write_seen, max_read_seen;
  uint64_t attrs_from_open_files; /* getattr and setattr answered from an open storage file (ops.c) */
};

/* messages posted to JS through the threadsafe function */
enum msg_kind {
  M_REQUEST = 1, M_FORGET, M_NOTIFY_DONE, M_CLOSED, M_INIT
};

enum op_code {
  OP_LOOKUP = 1, OP_GETATTR, OP_SETATTR, OP_READLINK, OP_MKNOD, OP_MKDIR, OP_UNLINK,
  OP_RMDIR, OP_SYMLINK, OP_RENAME, OP_LINK, OP_OPEN, OP_CREATE, OP_READDIR,
  OP_READDIRPLUS, OP_FSYNCDIR, OP_STATFS, OP_SETXATTR, OP_GETXATTR, OP_LISTXATTR,
  OP_REMOVEXATTR, OP_ACCESS,
  /* JS is called with these codes too, for the messages that are not requests */
  OP_INIT, OP_FORGET, OP_CLOSED, OP_COUNT
};

struct msg {
  int kind;
  int op;
  uint64_t id;
  struct fuse_ctx ctx;
  uint64_t ino, ino2, fh;
  bool has_fh;
  char *name, *name2;
  size_t name_len, name2_len;
  void *value;
  size_t value_len;
  int64_t a, b, c;
  struct stat attr;
  int to_set;
  napi_deferred deferred;
  int result;
};

/* reader.c */
enum reader_turn { TURN_NONE, TURN_REQUEST, TURN_ENDED };
void reader_start(struct session *s);
/* Once reader_turn said TURN_ENDED. */
void reader_join(struct session *s);
/* JS thread: is a request waiting (or has the session ended)? */
enum reader_turn reader_turn(struct session *s);
/* JS thread: the waiting request, to handle between these two calls. */
struct fuse_buf *reader_begin(struct session *s);
void reader_done(struct session *s);
/* From the session's writev: true when this is the answer to the request being handled, kept for the reader. */
bool reader_keep_answer(struct session *s, const struct iovec *iov, int count);

/* session.c */
/* From a request handler (on the JS thread): calls JS now. */
void deliver_msg(struct session *s, struct msg *m);
/* From anywhere else: queued for the JS thread. */
void post_msg(struct session *s, struct msg *m);
uint64_t pending_add(struct session *s, fuse_req_t req, int op, fuse_ino_t ino, size_t size,
                     const struct fuse_file_info *fi);
extern const struct fuse_lowlevel_ops minifo_ops;
napi_value init_session_api(napi_env env, napi_value exports);

/* ops.c */
/* How an open is served, from the engine's open reply (or a repeat of one, reopen.c). */
struct open_spec {
  uint64_t ino;
  struct extent *ext; /* owned by the spec's user; NULL: plain file */
  size_t next;
  bool keep_cache, direct_io, passthrough, follows_copy_up;
};
/* A handle for a new open of `nodeid` on `fd` (taken over) and spec->ext (taken over), with fi->fh and the
 * cache flags set for the reply; NULL when the node is open passthrough to another file (IO_CONFLICT). */
struct handle *handle_open(struct session *s, int fd, const struct open_spec *spec, fuse_ino_t nodeid,
                           struct fuse_file_info *fi);
/* The open file is gone: released by the kernel, or an open it did not take. */
void handle_release(struct session *s, uint64_t fh);
struct handle *handle_get(struct session *s, uint64_t fh);
void handle_put(struct session *s, struct handle *h);
void handles_close_all(struct session *s);

/* passthrough.c (JS thread only) */
enum io_mode { IO_NONE = 0, IO_CACHED, IO_PASSTHROUGH, IO_CONFLICT };
/* Routes the session's I/O through the callbacks that negotiate passthrough; after mounting. */
int passthrough_attach(struct session *s);
/* For a new open handle: passthrough (its backing id then goes into the reply being sent) when offered, for
 * writing or beside other passthrough opens, and the kernel will take it, else cached; IO_CONFLICT when the
 * node is open passthrough to another file. */
enum io_mode io_choose(struct session *s, struct handle *h, bool offered, bool writable);
/* After the open or create reply went out. */
void io_replied(void);
/* The handle is gone (released, or the kernel did not take the open). */
void io_release(struct session *s, struct handle *h);
int io_passthrough_opens(struct session *s);
void io_forget_all(struct session *s);

/* reopen.c (JS thread only) */
/* After the open reply for h (served as `spec`) went out: the engine lets C repeat this open (`path`, taken
 * over, opened with `open_flags`) for later opens of the node with the same flags. `generation`: the session's
 * when the request came. */
void reopen_remember(struct session *s, const struct handle *h, uint64_t generation, char *path,
                     int open_flags, const struct open_spec *spec);
/* From op_open: true when it answered the open itself. */
bool reopen_answer(struct session *s, fuse_req_t req, fuse_ino_t nodeid, struct fuse_file_info *fi);
void reopen_forget(struct session *s, fuse_ino_t nodeid);
void reopen_forget_all(struct session *s);

/* readahead.c: after mounting, before INIT is answered: the readahead window of `mountpoint` (canonical)
 * becomes the largest READ libfuse splices, when this daemon may set it. */
void readahead_raise(struct session *s, const char *mountpoint);

/* sys.c */
napi_value init_sys(napi_env env, napi_value exports);

#endif
