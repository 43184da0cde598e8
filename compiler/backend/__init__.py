"""The compiler's back end: quantized IR -> codelets -> tiled schedule -> GeneSys program bundle.

The passes run from `genesys.compiler.compile.run_backend`; docs/compiler.md describes them.
"""
