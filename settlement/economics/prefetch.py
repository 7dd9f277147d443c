"""A cache-line prefetch for the compiled loops: a no-op in Python, one instruction when compiled.

Scattered row updates (a provider's share, an owner's sum) miss the cache; asking for a row some
batches ahead keeps many misses in flight. A prefetch never faults and never changes a result, so
the row index need not be checked yet: its address is computed as a plain integer.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

_LLVM_PREFETCH = "llvm.prefetch.p0"


def prefetch_write(array: Any, index: int) -> None:
    """Ask for the cache line of ``array[index]``, to be written soon (compiled loops only)."""


@intrinsic
def _prefetch_write(typingctx: Any, array: Any, index: Any) -> Any:
    if not (isinstance(array, types.Array) and array.ndim == 1):
        return None
    if not isinstance(index, types.Integer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        view = context.make_array(signature.args[0])(context, builder, args[0])
        i64 = ir.IntType(64)
        row = context.cast(builder, args[1], signature.args[1], types.int64)
        stride = builder.extract_value(view.strides, 0)
        address = builder.add(builder.ptrtoint(view.data, i64), builder.mul(row, stride))
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = builder.module.globals.get(_LLVM_PREFETCH) or ir.Function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]),
            _LLVM_PREFETCH,
        )
        # write intent, high locality, data cache
        builder.call(fn, [builder.inttoptr(address, byte_ptr), i32(1), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


@overload(prefetch_write)
def _prefetch_write_compiled(array: Any, index: Any) -> Any:
    def impl(array: Any, index: Any) -> None:
        # numba passes the typing context itself
        _prefetch_write(array, index)  # type: ignore[call-arg]

    return impl
