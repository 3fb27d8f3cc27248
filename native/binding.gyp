{
  "targets": [
    {
      "target_name": "minifo_fuse",
      "sources": [
        "src/main.c",
        "src/napi_util.c",
        "src/session.c",
        "src/ops.c",
        "src/sys.c",
        "src/nodeset.c",
        "src/datapool.c",
        "src/passthrough.c",
        "src/reader.c",
        "src/reopen.c",
        "src/readahead.c"
      ],
      "defines": ["NAPI_VERSION=8", "_FILE_OFFSET_BITS=64"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "<!@(pkg-config --cflags fuse3)"],
      "cflags_c": ["-std=gnu11"],
      "libraries": ["<!@(pkg-config --libs fuse3)"]
    }
  ]
}
