/* Small N-API helpers: value conversion and Node-style errors. */
#define _GNU_SOURCE
#include "common.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void napi_throw_last(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  char msg[256];
  snprintf(msg, sizeof msg, "minifo_fuse: %s failed: %s", what,
           info && info->error_message ? info->error_message : "unknown N-API error");
  napi_throw_error(env, NULL, msg);
}

napi_value throw_msg(napi_env env, const char *code, const char *msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, code, msg);
  return NULL;
}

napi_value throw_errno(napi_env env, int err, const char *syscall, napi_value path) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return NULL;
  const char *code = strerrorname_np(err);
  if (!code) code = "UNKNOWN";
  char pathbuf[1024] = "";
  napi_value pathstr = NULL;
  if (path) {
    napi_valuetype t;
    napi_typeof(env, path, &t);
    bool isbuf = false;
    napi_is_buffer(env, path, &isbuf);
    if (t == napi_string) {
      size_t n;
      napi_get_value_string_utf8(env, path, pathbuf, sizeof pathbuf, &n);
      pathstr = path;
    } else if (isbuf) {
      void *d; size_t n;
      napi_get_buffer_info(env, path, &d, &n);
      if (n >= sizeof pathbuf) n = sizeof pathbuf - 1;
      memcpy(pathbuf, d, n);
      pathbuf[n] = 0;
      napi_create_string_utf8(env, pathbuf, NAPI_AUTO_LENGTH, &pathstr);
    } else if (t == napi_number) {
      pathstr = NULL; /* fd: no path */
    }
  }
  char msg[1400];
  if (pathstr)
    snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code, strerror(err), syscall, pathbuf);
  else
    snprintf(msg, sizeof msg, "%s: %s, %s", code, strerror(err), syscall);
  napi_value m, e, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &e);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "code", v);
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  if (pathstr) napi_set_named_property(env, e, "path", pathstr);
  napi_throw(env, e);
  return NULL;
}

napi_value js_undefined(napi_env env) { napi_value v; napi_get_undefined(env, &v); return v; }
napi_value js_bool(napi_env env, bool b) { napi_value v; napi_get_boolean(env, b, &v); return v; }
napi_value js_num(napi_env env, double d) { napi_value v; napi_create_double(env, d, &v); return v; }
napi_value js_i64(napi_env env, int64_t i) { napi_value v; napi_create_int64(env, i, &v); return v; }
napi_value js_bigint_u64(napi_env env, uint64_t u) { napi_value v; napi_create_bigint_uint64(env, u, &v); return v; }
napi_value js_bytes(napi_env env, const char *data, size_t len) {
  napi_value v;
  if (napi_create_string_latin1(env, data, len, &v) != napi_ok) return NULL;
  return v;
}
napi_value js_buffer(napi_env env, const void *data, size_t len) {
  napi_value v;
  if (napi_create_buffer_copy(env, len, len ? data : "", NULL, &v) != napi_ok) return NULL;
  return v;
}

bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (!v || napi_typeof(env, v, &t) != napi_ok) return true;
  return t == napi_undefined || t == napi_null;
}

bool get_i64(napi_env env, napi_value v, const char *what, int64_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_bigint) {
    bool lossless;
    napi_get_value_bigint_int64(env, v, out, &lossless);
    if (!lossless) {
      uint64_t u;
      napi_get_value_bigint_uint64(env, v, &u, &lossless);
      if (!lossless) goto bad;
      *out = (int64_t)u;
    }
    return true;
  }
  if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    if (d != d) goto bad;
    *out = (int64_t)d;
    return true;
  }
bad:;
  char msg[200];
  snprintf(msg, sizeof msg, "%s must be a bigint or a number", what);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return false;
}

bool get_u32(napi_env env, napi_value v, const char *what, uint32_t *out) {
  int64_t i;
  if (!get_i64(env, v, what, &i)) return false;
  *out = (uint32_t)i;
  return true;
}

bool get_prop(napi_env env, napi_value obj, const char *name, napi_value *out) {
  if (napi_get_named_property(env, obj, name, out) != napi_ok) {
    napi_throw_last(env, name);
    return false;
  }
  return true;
}

bool get_prop_i64(napi_env env, napi_value obj, const char *name, bool required, int64_t *out,
                  bool *present) {
  napi_value v;
  if (!get_prop(env, obj, name, &v)) return false;
  if (is_nullish(env, v)) {
    if (present) *present = false;
    if (required) {
      char msg[200];
      snprintf(msg, sizeof msg, "missing property '%s'", name);
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
      return false;
    }
    return true;
  }
  if (present) *present = true;
  return get_i64(env, v, name, out);
}

bool get_prop_double(napi_env env, napi_value obj, const char *name, double *out, bool *present) {
  napi_value v;
  *present = false;
  if (!get_prop(env, obj, name, &v)) return false;
  if (is_nullish(env, v)) return true;
  if (napi_get_value_double(env, v, out) != napi_ok) {
    char msg[200];
    snprintf(msg, sizeof msg, "'%s' must be a number", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  *present = true;
  return true;
}

bool get_prop_bool(napi_env env, napi_value obj, const char *name, bool *out) {
  napi_value v;
  *out = false;
  if (!get_prop(env, obj, name, &v)) return false;
  if (is_nullish(env, v)) return true;
  napi_value b;
  napi_coerce_to_bool(env, v, &b);
  napi_get_value_bool(env, b, out);
  return true;
}

char *get_path(napi_env env, napi_value v, const char *what, size_t *lenp) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  bool isbuf = false;
  napi_is_buffer(env, v, &isbuf);
  char *s = NULL;
  size_t len = 0;
  if (t == napi_string) {
    napi_get_value_string_utf8(env, v, NULL, 0, &len);
    s = malloc(len + 1);
    napi_get_value_string_utf8(env, v, s, len + 1, &len);
  } else if (isbuf) {
    void *d;
    napi_get_buffer_info(env, v, &d, &len);
    s = malloc(len + 1);
    memcpy(s, d, len);
    s[len] = 0;
  } else {
    char msg[200];
    snprintf(msg, sizeof msg, "%s must be a string or a Buffer", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return NULL;
  }
  if (memchr(s, 0, len)) {
    free(s);
    char msg[200];
    snprintf(msg, sizeof msg, "%s must not contain NUL bytes", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", msg);
    return NULL;
  }
  if (lenp) *lenp = len;
  return s;
}

bool get_buffer(napi_env env, napi_value v, const char *what, void **data, size_t *len) {
  bool isbuf = false;
  napi_is_buffer(env, v, &isbuf);
  if (!isbuf) {
    char msg[200];
    snprintf(msg, sizeof msg, "%s must be a Buffer", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  napi_get_buffer_info(env, v, data, len);
  return true;
}

bool get_extents(napi_env env, napi_value v, struct extent **out, size_t *count) {
  *out = NULL;
  *count = 0;
  if (is_nullish(env, v)) return true;
  bool isarr = false;
  napi_is_array(env, v, &isarr);
  if (!isarr) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "extents must be an array");
    return false;
  }
  uint32_t n;
  napi_get_array_length(env, v, &n);
  struct extent *e = calloc(n ? n : 1, sizeof *e);
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    int64_t off, len;
    napi_get_element(env, v, i, &el);
    if (!get_prop_i64(env, el, "offset", true, &off, NULL) ||
        !get_prop_i64(env, el, "length", true, &len, NULL)) {
      free(e);
      return false;
    }
    if (off < 0 || len < 0) {
      free(e);
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "extent offset/length must be >= 0");
      return false;
    }
    e[i].off = off;
    e[i].len = len;
  }
  *out = e;
  *count = n;
  return true;
}

void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}
