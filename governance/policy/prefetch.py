"""A cache-line read prefetch for the compiled loops: a no-op in Python, one instruction compiled.

Gathers at scattered rows (the probed nodes' reported capacity, the low nodes' join time) miss
the cache one after the other; asking for the row some iterations ahead keeps many misses in
flight. A prefetch never faults and never changes a result, so the row index need not be checked:
its address is computed as a plain integer. (The policy core's own copy of the settlement
economics intrinsic, which the pure-core contract keeps it from importing; this one reads.)
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

_LLVM_PREFETCH = "llvm.prefetch.p0"


def prefetch_read(array: Any, index: int) -> None:
    """Ask for the cache line of row ``index`` of ``array`` (compiled loops only)."""


@intrinsic
def _prefetch_read(typingctx: Any, array: Any, index: Any) -> Any:
    if not (isinstance(array, types.Array) and array.ndim in (1, 2)):
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
        # read intent, no temporal locality (the row is used once), data cache
        builder.call(fn, [builder.inttoptr(address, byte_ptr), i32(0), i32(0), i32(1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


@overload(prefetch_read)
def _prefetch_read_compiled(array: Any, index: Any) -> Any:
    def impl(array: Any, index: Any) -> None:
        # numba passes the typing context itself
        _prefetch_read(array, index)  # type: ignore[call-arg]

    return impl
