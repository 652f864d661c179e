{
  "targets": [
    {
      "target_name": "cfskit_host",
      "sources": ["src/addon.cc", "src/errors.cc", "src/verity.cc", "src/args.cc", "src/beneath.cc", "src/fd.cc", "src/files.cc", "src/stat.cc", "src/lock.cc", "src/store.cc", "src/mount.cc", "src/xattr.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fno-exceptions"]
    }
  ]
}
