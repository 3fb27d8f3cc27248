/* minifo_fuse: module entry. */
#include "common.h"

static napi_value init(napi_env env, napi_value exports) {
  init_session_api(env, exports);
  init_sys(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
