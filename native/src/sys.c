/* sys: small syscalls Node lacks (xattrs, utimensat with ns, mknod, renameat2, copyData). */
#define _GNU_SOURCE
#include "common.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <sys/xattr.h>
#include <unistd.h>

static bool get_fd(napi_env env, napi_value v, int *fd) {
  int64_t x;
  if (!get_i64(env, v, "fd", &x)) return false;
  *fd = (int)x;
  return true;
}

/* target: a path (string|Buffer) or an fd (number) */
struct target {
  char *path;
  int fd;
};

static bool get_target(napi_env env, napi_value v, bool allow_fd, struct target *t) {
  napi_valuetype ty;
  napi_typeof(env, v, &ty);
  t->path = NULL;
  t->fd = -1;
  if (allow_fd && ty == napi_number) return get_fd(env, v, &t->fd);
  t->path = get_path(env, v, "path", NULL);
  return t->path != NULL;
}

/* ---------------------------------------------------------------- xattrs */

static napi_value do_getxattr(napi_env env, napi_value target, napi_value namev, bool byfd) {
  struct target t;
  if (!get_target(env, target, byfd, &t)) return NULL;
  char *name = get_path(env, namev, "name", NULL);
  if (!name) {
    free(t.path);
    return NULL;
  }
  char stackbuf[1024];
  char *buf = stackbuf;
  size_t cap = sizeof stackbuf;
  ssize_t n;
  for (;;) {
    n = byfd ? fgetxattr(t.fd, name, buf, cap) : lgetxattr(t.path, name, buf, cap);
    if (n >= 0 || errno != ERANGE) break;
    ssize_t need = byfd ? fgetxattr(t.fd, name, NULL, 0) : lgetxattr(t.path, name, NULL, 0);
    if (need < 0) {
      n = -1;
      break;
    }
    if (buf != stackbuf) free(buf);
    cap = (size_t)need + 1;
    buf = malloc(cap);
  }
  int err = errno;
  napi_value r = NULL;
  if (n < 0) throw_errno(env, err, byfd ? "fgetxattr" : "lgetxattr", byfd ? NULL : target);
  else r = js_buffer(env, buf, (size_t)n);
  if (buf != stackbuf) free(buf);
  free(name);
  free(t.path);
  return r;
}

static napi_value do_listxattr(napi_env env, napi_value target, bool byfd) {
  struct target t;
  if (!get_target(env, target, byfd, &t)) return NULL;
  /* One call when the names fit the stack buffer (most files have none: the engine asks after every create). */
  char small[1024];
  char *buf = small;
  ssize_t n = byfd ? flistxattr(t.fd, small, sizeof small) : llistxattr(t.path, small, sizeof small);
  while (n < 0 && errno == ERANGE) {
    ssize_t need = byfd ? flistxattr(t.fd, NULL, 0) : llistxattr(t.path, NULL, 0);
    if (need < 0) break;
    if (buf != small) free(buf);
    buf = malloc((size_t)need + 1);
    n = byfd ? flistxattr(t.fd, buf, (size_t)need) : llistxattr(t.path, buf, (size_t)need);
  }
  int err = errno;
  napi_value arr = NULL;
  if (n < 0) {
    throw_errno(env, err, byfd ? "flistxattr" : "llistxattr", byfd ? NULL : target);
  } else {
    napi_create_array(env, &arr);
    uint32_t k = 0;
    for (ssize_t i = 0; i < n;) {
      size_t l = strnlen(buf + i, (size_t)(n - i));
      if (l) napi_set_element(env, arr, k++, js_buffer(env, buf + i, l));
      i += (ssize_t)l + 1;
    }
  }
  if (buf != small) free(buf);
  free(t.path);
  return arr;
}

static napi_value do_setxattr(napi_env env, napi_value target, napi_value namev, napi_value val,
                              napi_value flagsv, bool byfd) {
  void *data;
  size_t len;
  int64_t flags = 0;
  if (!get_buffer(env, val, "value", &data, &len)) return NULL;
  if (!is_nullish(env, flagsv) && !get_i64(env, flagsv, "flags", &flags)) return NULL;
  struct target t;
  if (!get_target(env, target, byfd, &t)) return NULL;
  char *name = get_path(env, namev, "name", NULL);
  if (!name) {
    free(t.path);
    return NULL;
  }
  int r = byfd ? fsetxattr(t.fd, name, data, len, (int)flags)
               : lsetxattr(t.path, name, data, len, (int)flags);
  int err = errno;
  free(name);
  free(t.path);
  if (r < 0) return throw_errno(env, err, byfd ? "fsetxattr" : "lsetxattr", byfd ? NULL : target);
  return js_undefined(env);
}

static napi_value do_removexattr(napi_env env, napi_value target, napi_value namev, bool byfd) {
  struct target t;
  if (!get_target(env, target, byfd, &t)) return NULL;
  char *name = get_path(env, namev, "name", NULL);
  if (!name) {
    free(t.path);
    return NULL;
  }
  int r = byfd ? fremovexattr(t.fd, name) : lremovexattr(t.path, name);
  int err = errno;
  free(name);
  free(t.path);
  if (r < 0) return throw_errno(env, err, byfd ? "fremovexattr" : "lremovexattr", byfd ? NULL : target);
  return js_undefined(env);
}

static napi_value LGetxattr(napi_env env, napi_callback_info info) { NAPI_ARGS(2) return do_getxattr(env, a[0], a[1], false); }
static napi_value FGetxattr(napi_env env, napi_callback_info info) { NAPI_ARGS(2) return do_getxattr(env, a[0], a[1], true); }
static napi_value LListxattr(napi_env env, napi_callback_info info) { NAPI_ARGS(1) return do_listxattr(env, a[0], false); }
static napi_value FListxattr(napi_env env, napi_callback_info info) { NAPI_ARGS(1) return do_listxattr(env, a[0], true); }
static napi_value LSetxattr(napi_env env, napi_callback_info info) { NAPI_ARGS(4) return do_setxattr(env, a[0], a[1], a[2], a[3], false); }
static napi_value FSetxattr(napi_env env, napi_callback_info info) { NAPI_ARGS(4) return do_setxattr(env, a[0], a[1], a[2], a[3], true); }
static napi_value LRemovexattr(napi_env env, napi_callback_info info) { NAPI_ARGS(2) return do_removexattr(env, a[0], a[1], false); }
static napi_value FRemovexattr(napi_env env, napi_callback_info info) { NAPI_ARGS(2) return do_removexattr(env, a[0], a[1], true); }

/* ------------------------------------------------------- utimens and co */

static bool get_timespec(napi_env env, napi_value v, struct timespec *ts) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_undefined || t == napi_null) {
    ts->tv_sec = 0;
    ts->tv_nsec = UTIME_OMIT;
    return true;
  }
  if (t == napi_string) {
    char s[8];
    size_t n;
    napi_get_value_string_utf8(env, v, s, sizeof s, &n);
    if (strcmp(s, "now") == 0) {
      ts->tv_sec = 0;
      ts->tv_nsec = UTIME_NOW;
      return true;
    }
  }
  if (t != napi_bigint) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "time must be a bigint (ns), 'now' or undefined");
    return false;
  }
  int64_t ns;
  bool lossless;
  napi_get_value_bigint_int64(env, v, &ns, &lossless);
  *ts = timespec_of_ns(ns);
  return true;
}

static napi_value Utimens(napi_env env, napi_callback_info info) {
  NAPI_ARGS(3)
  struct timespec ts[2];
  if (!get_timespec(env, a[1], &ts[0]) || !get_timespec(env, a[2], &ts[1])) return NULL;
  struct target t;
  if (!get_target(env, a[0], true, &t)) return NULL;
  int r = t.path ? utimensat(AT_FDCWD, t.path, ts, AT_SYMLINK_NOFOLLOW) : futimens(t.fd, ts);
  int err = errno;
  free(t.path);
  if (r < 0) return throw_errno(env, err, t.path ? "utimensat" : "futimens", t.path ? a[0] : NULL);
  return js_undefined(env);
}

static napi_value Mknod(napi_env env, napi_callback_info info) {
  NAPI_ARGS(3)
  int64_t mode, rdev;
  if (!get_i64(env, a[1], "mode", &mode) || !get_i64(env, a[2], "rdev", &rdev)) return NULL;
  char *path = get_path(env, a[0], "path", NULL);
  if (!path) return NULL;
  int r = mknod(path, (mode_t)mode, (dev_t)rdev);
  int err = errno;
  free(path);
  if (r < 0) return throw_errno(env, err, "mknod", a[0]);
  return js_undefined(env);
}

static napi_value Renameat2(napi_env env, napi_callback_info info) {
  NAPI_ARGS(3)
  int64_t flags = 0;
  if (!is_nullish(env, a[2]) && !get_i64(env, a[2], "flags", &flags)) return NULL;
  char *from = get_path(env, a[0], "oldPath", NULL);
  if (!from) return NULL;
  char *to = get_path(env, a[1], "newPath", NULL);
  if (!to) {
    free(from);
    return NULL;
  }
  int r = renameat2(AT_FDCWD, from, AT_FDCWD, to, (unsigned)flags);
  int err = errno;
  free(from);
  free(to);
  if (r < 0) return throw_errno(env, err, "renameat2", a[0]);
  return js_undefined(env);
}

/* flock(fd, op) -> false when LOCK_NB and the lock is held elsewhere, else true. */
static napi_value Flock(napi_env env, napi_callback_info info) {
  NAPI_ARGS(2)
  int fd;
  int64_t op;
  if (!get_fd(env, a[0], &fd) || !get_i64(env, a[1], "operation", &op)) return NULL;
  int r;
  while ((r = flock(fd, (int)op)) < 0 && errno == EINTR) {
  }
  if (r < 0 && errno == EWOULDBLOCK) return js_bool(env, false);
  if (r < 0) return throw_errno(env, errno, "flock", NULL);
  return js_bool(env, true);
}

/* ------------------------------------------------------------- copyData */

struct copy_work {
  int src, dst;
  off_t soff, doff, len;
  int err;
  napi_deferred deferred;
  napi_async_work work;
};

/* Copies [s, s+len) of src to dst at d; 0 or errno. Stops quietly at source EOF. */
static int copy_range(int src, off_t s, int dst, off_t d, off_t len, bool *use_cfr) {
  static const size_t CHUNK = 1 << 20;
  char *buf = NULL;
  int err = 0;
  while (len > 0) {
    size_t want = len > (off_t)(1 << 30) ? (size_t)(1 << 30) : (size_t)len;
    if (*use_cfr) {
      loff_t si = s, di = d;
      ssize_t n = copy_file_range(src, &si, dst, &di, want, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) {
          *use_cfr = false;
          continue;
        }
        err = errno;
        break;
      }
      if (n == 0) break; /* source EOF */
      s += n;
      d += n;
      len -= n;
      continue;
    }
    if (!buf) buf = malloc(CHUNK);
    size_t w = want > CHUNK ? CHUNK : want;
    ssize_t n = pread(src, buf, w, s);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t m = pwrite(dst, buf + done, (size_t)(n - done), d + done);
      if (m < 0) {
        if (errno == EINTR) continue;
        err = errno;
        break;
      }
      done += m;
    }
    if (err) break;
    s += n;
    d += n;
    len -= n;
  }
  free(buf);
  return err;
}

static void copy_execute(napi_env env, void *data) {
  (void)env;
  struct copy_work *w = data;
  struct stat st;
  bool use_cfr = true, use_fallocate = true;
  bool sparse = fstat(w->src, &st) == 0 && S_ISREG(st.st_mode);
  off_t pos = w->soff, end = w->soff + w->len;
  while (pos < end) {
    off_t data_at = pos, hole_at = end;
    if (sparse) {
      data_at = lseek(w->src, pos, SEEK_DATA);
      if (data_at < 0) {
        if (errno == ENXIO) break; /* only a hole (or EOF) is left */
        sparse = false;            /* SEEK_DATA unsupported: copy everything */
        data_at = pos;
      } else {
        if (data_at >= end) break;
        hole_at = lseek(w->src, data_at, SEEK_HOLE);
        if (hole_at < 0 || hole_at > end) hole_at = end;
      }
    }
    off_t to = w->doff + (data_at - w->soff);
    /* Allocating a data run at once is cheaper than block by block as the copy writes it (ext4: 256 MiB
     * in 61 ms instead of 66). Runs only: holes stay holes. A filesystem without fallocate just copies. */
    if (use_fallocate && fallocate(w->dst, 0, to, hole_at - data_at) < 0) {
      if (errno != EOPNOTSUPP && errno != ENOSYS) {
        w->err = errno;
        return;
      }
      use_fallocate = false;
    }
    int err = copy_range(w->src, data_at, w->dst, to, hole_at - data_at, &use_cfr);
    if (err) {
      w->err = err;
      return;
    }
    pos = hole_at;
  }
}

static void copy_complete(napi_env env, napi_status status, void *data) {
  struct copy_work *w = data;
  if (status != napi_ok && !w->err) w->err = EIO;
  if (w->err) {
    throw_errno(env, w->err, "copyData", NULL);
    napi_value ex;
    napi_get_and_clear_last_exception(env, &ex);
    napi_reject_deferred(env, w->deferred, ex);
  } else {
    napi_resolve_deferred(env, w->deferred, js_undefined(env));
  }
  napi_delete_async_work(env, w->work);
  free(w);
}

/* copyData(srcFd, srcOffset, dstFd, dstOffset, length) -> Promise<void> */
static napi_value CopyData(napi_env env, napi_callback_info info) {
  NAPI_ARGS(5)
  int src, dst;
  int64_t so, dof, len;
  if (!get_fd(env, a[0], &src) || !get_i64(env, a[1], "srcOffset", &so) || !get_fd(env, a[2], &dst) ||
      !get_i64(env, a[3], "dstOffset", &dof) || !get_i64(env, a[4], "length", &len))
    return NULL;
  if (so < 0 || dof < 0 || len < 0)
    return throw_msg(env, "ERR_OUT_OF_RANGE", "copyData: offsets and length must be >= 0");
  struct copy_work *w = calloc(1, sizeof *w);
  w->src = src;
  w->dst = dst;
  w->soff = so;
  w->doff = dof;
  w->len = len;
  napi_value promise, name;
  NAPI_OK(env, napi_create_promise(env, &w->deferred, &promise));
  napi_create_string_utf8(env, "minifo.copyData", NAPI_AUTO_LENGTH, &name);
  NAPI_OK(env, napi_create_async_work(env, NULL, name, copy_execute, copy_complete, w, &w->work));
  NAPI_OK(env, napi_queue_async_work(env, w->work));
  return promise;
}

napi_value init_sys(napi_env env, napi_value exports) {
  napi_value sys;
  napi_create_object(env, &sys);
  export_fn(env, sys, "lgetxattr", LGetxattr);
  export_fn(env, sys, "lsetxattr", LSetxattr);
  export_fn(env, sys, "llistxattr", LListxattr);
  export_fn(env, sys, "lremovexattr", LRemovexattr);
  export_fn(env, sys, "fgetxattr", FGetxattr);
  export_fn(env, sys, "fsetxattr", FSetxattr);
  export_fn(env, sys, "flistxattr", FListxattr);
  export_fn(env, sys, "fremovexattr", FRemovexattr);
  export_fn(env, sys, "utimens", Utimens);
  export_fn(env, sys, "mknod", Mknod);
  export_fn(env, sys, "renameat2", Renameat2);
  export_fn(env, sys, "copyData", CopyData);
  export_fn(env, sys, "flock", Flock);
  napi_value c;
  napi_create_object(env, &c);
  napi_set_named_property(env, c, "RENAME_NOREPLACE", js_num(env, RENAME_NOREPLACE));
  napi_set_named_property(env, c, "RENAME_EXCHANGE", js_num(env, RENAME_EXCHANGE));
  napi_set_named_property(env, c, "XATTR_CREATE", js_num(env, XATTR_CREATE));
  napi_set_named_property(env, c, "XATTR_REPLACE", js_num(env, XATTR_REPLACE));
  napi_set_named_property(env, c, "LOCK_SH", js_num(env, LOCK_SH));
  napi_set_named_property(env, c, "LOCK_EX", js_num(env, LOCK_EX));
  napi_set_named_property(env, c, "LOCK_NB", js_num(env, LOCK_NB));
  napi_set_named_property(env, c, "LOCK_UN", js_num(env, LOCK_UN));
  napi_set_named_property(env, sys, "constants", c);
  napi_set_named_property(env, exports, "sys", sys);
  return exports;
}
