"""Cache-line prefetch for the policy kernels: a no-op in Python, one instruction when compiled.

Placement candidates, probed nodes and low-scored nodes are scattered rows of node tables as long
as the network; a loop that reads them one after another waits for one miss at a time. Asking for
the rows some iterations ahead keeps many misses in flight. A prefetch never faults and never
changes a result, so the row need not be checked yet: its address is computed as a plain integer.
(The policy core may not import settlement's copy of this intrinsic.)
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

_LLVM_PREFETCH = "llvm.prefetch.p0"


def prefetch_read(array: Any, row: int) -> None:
    """Ask for the cache line starting row ``row`` of a 1-D or 2-D array (compiled loops only)."""


def prefetch_row(array: Any, row: int) -> None:
    """Ask for every cache line of row ``row`` of a 2-D array (compiled loops only).

    A row of a few float32 values (12 bytes for three resources) straddles two lines at about one
    row in five; `prefetch_read` asks for the first only, and the read then waits for the second.
    This asks for the lines of the row's first and last bytes (the same line, mostly).
    """


@intrinsic
def _prefetch_read(typingctx: Any, array: Any, row: Any) -> Any:
    if not (isinstance(array, types.Array) and array.ndim in (1, 2)):
        return None
    if not isinstance(row, types.Integer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        _, start = _row_start(context, builder, signature, args)
        _prefetch_at(builder, start)
        return context.get_dummy_value()

    return types.void(array, row), codegen


def _row_start(context: Any, builder: Any, signature: Any, args: Any) -> tuple[Any, Any]:
    """The array view and the integer address where row ``args[1]`` of ``args[0]`` starts."""
    view = context.make_array(signature.args[0])(context, builder, args[0])
    i64 = ir.IntType(64)
    index = context.cast(builder, args[1], signature.args[1], types.int64)
    stride = builder.extract_value(view.strides, 0)
    return view, builder.add(builder.ptrtoint(view.data, i64), builder.mul(index, stride))


def _prefetch_at(builder: Any, address: Any) -> None:
    """Emit one read prefetch of the byte at integer ``address``."""
    byte_ptr = ir.IntType(8).as_pointer()
    i32 = ir.IntType(32)
    fn = builder.module.globals.get(_LLVM_PREFETCH) or ir.Function(
        builder.module,
        ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]),
        _LLVM_PREFETCH,
    )
    # read intent, high locality, data cache
    builder.call(fn, [builder.inttoptr(address, byte_ptr), i32(0), i32(3), i32(1)])


@intrinsic
def _prefetch_row(typingctx: Any, array: Any, row: Any) -> Any:
    if not (isinstance(array, types.Array) and array.ndim == 2):
        return None
    if not isinstance(row, types.Integer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        view, start = _row_start(context, builder, signature, args)
        i64 = ir.IntType(64)
        # last byte of the row: (columns - 1) * column stride + itemsize - 1 past its start
        columns = builder.extract_value(view.shape, 1)
        step = builder.extract_value(view.strides, 1)
        itemsize = ir.Constant(i64, context.get_abi_sizeof(context.get_data_type(array.dtype)))
        span = builder.mul(builder.sub(columns, ir.Constant(i64, 1)), step)
        end = builder.add(start, builder.add(span, builder.sub(itemsize, ir.Constant(i64, 1))))
        _prefetch_at(builder, start)
        _prefetch_at(builder, end)
        return context.get_dummy_value()

    return types.void(array, row), codegen


@overload(prefetch_row)
def _prefetch_row_compiled(array: Any, row: Any) -> Any:
    def impl(array: Any, row: Any) -> None:
        _prefetch_row(array, row)  # type: ignore[call-arg]

    return impl


@overload(prefetch_read)
def _prefetch_read_compiled(array: Any, row: Any) -> Any:
    def impl(array: Any, row: Any) -> None:
        # numba passes the typing context itself
        _prefetch_read(array, row)  # type: ignore[call-arg]

    return impl
