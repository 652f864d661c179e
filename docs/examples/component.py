"""cfskit's wasm component from Python (wasmtime from PyPI, see requirements.txt).

    python component.py COMPONENT FILE IMAGE

prints FILE's fs-verity digest as `cfskit digest FILE` does, then the
dumpfile of the composefs (EROFS) image IMAGE as `cfskit dump-files IMAGE /`
does. The component imports nothing, so it needs no WASI.
"""
import sys

import wasmtime
from wasmtime.component import Component, Linker, Record

component_path, file_path, image_path = sys.argv[1:4]

engine = wasmtime.Engine()
store = wasmtime.Store(engine)
instance = Linker(engine).instantiate(store, Component.from_file(engine, component_path))


def func(interface, name):
    """An export of interface `cfskit:core/INTERFACE@0.1.0` (methods: '[method]RESOURCE.NAME')."""
    parent = instance.get_export_index(store, f"cfskit:core/{interface}@0.1.0")
    return instance.get_func(store, instance.get_export_index(store, name, parent))


# fsverity.digest(params, data): sha512 with 4096-byte blocks, composefs' default.
params = Record()
setattr(params, "algorithm", "sha512")
setattr(params, "lg-block-size", 12)
with open(file_path, "rb") as f:
    digest = func("fsverity", "digest")(store, params, f.read())
print(f"sha512:{digest.hex()} {file_path}")

# composefs.image-reader: open the image (the digest algorithm read from it),
# ask for its dumpfile, a blob read out in chunks. A result's error raises.
with open(image_path, "rb") as f:
    reader = func("composefs", "[static]image-reader.open")(store, f.read(), None)
blob = func("composefs", "[method]image-reader.dumpfile")(store, reader)
read = func("composefs", "[method]blob.read")
while chunk := read(store, blob, 1 << 20):
    sys.stdout.buffer.write(chunk)
blob.drop(store)
reader.drop(store)
