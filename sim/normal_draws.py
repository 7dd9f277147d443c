"""numpy's float32 standard normal draws of a PCG64 generator, bit for bit, in one compiled pass.

``Generator.standard_normal(dtype=float32)`` runs numpy's float32 ziggurat one draw at a time, with
a branch on the random sign bit in every draw: ~8.5 ns a draw here. The ziggurat only reads the
generator's stream of 32-bit words (the low then the high half of each 64-bit output of PCG64,
the high half kept for the next call), so the same words can be drawn in bulk (`random_raw`),
turned into draws by a compiled copy of numpy's ziggurat, and the generator then left exactly
where numpy would have left it: its state advanced by the outputs used, the unused half kept.
"""

from __future__ import annotations

import math
import sys

import numba
import numpy as np
from numba.np.random._constants import (  # numpy's float32 ziggurat tables (numba's copy)
    fi_float,
    ki_float,
    wi_float,
    ziggurat_nor_inv_r_f,
    ziggurat_nor_r_f,
)
from numpy.typing import NDArray

from sim.world import F32

U32 = NDArray[np.uint32]

_INV_2_24 = np.float32(1.0 / 16777216.0)
_SIGN = np.array([1.0, -1.0], dtype=np.float32)
#: Extra 64-bit outputs drawn per draw and in all: a draw reads ~1.01 words (rejections are rare).
_MARGIN_SHIFT = 5
_MARGIN = 64


def _next_float(words: U32, pos: int) -> np.float32:
    """The ``next_float`` of numpy: a word's top 24 bits over 2**24."""
    return np.float32(words[pos] >> np.uint32(8)) * _INV_2_24


_next_float_jit = numba.njit(cache=True, inline="always")(_next_float)


def _ziggurat_loop(words: U32, carry: np.uint32, has_carry: bool, out: F32) -> int:
    """``out`` = numpy's ``random_standard_normal_f`` draws from the 32-bit word stream.

    The stream is ``carry`` (if ``has_carry``) then ``words``. Returns how many of ``words`` were
    read, or -1 if they ran out. As numpy's C: the wedge compares a float32 with a float64 ``exp``,
    the tail takes float32 ``log1p`` (both libm's, as numpy's).
    """
    pos = -1 if has_carry else 0
    end = words.size
    for i in range(out.size):
        while True:
            if pos >= end:
                return -1
            r = carry if pos < 0 else words[pos]
            pos += 1
            idx = r & np.uint32(0xFF)
            rabs = (r >> np.uint32(9)) & np.uint32(0x007FFFFF)
            # times -1 (an exact negation) rather than a branch on a random bit
            x = np.float32(rabs) * wi_float[idx] * _SIGN[(r >> np.uint32(8)) & np.uint32(1)]
            if rabs < ki_float[idx]:
                out[i] = x
                break
            if idx == 0:  # the tail: two words per try
                while True:
                    if pos + 2 > end:
                        return -1
                    xx = -ziggurat_nor_inv_r_f * math.log1p(-_next_float_jit(words, pos))
                    yy = -math.log1p(-_next_float_jit(words, pos + 1))
                    pos += 2
                    if yy + yy > xx * xx:
                        break
                tail = ziggurat_nor_r_f + xx
                out[i] = -tail if (rabs >> np.uint32(8)) & np.uint32(1) else tail
                break
            if pos >= end:
                return -1
            f = _next_float_jit(words, pos)
            pos += 1
            wedge = (fi_float[idx - 1] - fi_float[idx]) * f + fi_float[idx]
            if np.float64(wedge) < math.exp(-0.5 * np.float64(x) * np.float64(x)):
                out[i] = x
                break
    return pos


ziggurat_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_ziggurat_loop)


def standard_normal_f32(rng: np.random.Generator, size: int, out: F32 | None = None) -> F32:
    """``rng.standard_normal(size, dtype=np.float32, out=out)``, the same draws and end state."""
    bits = rng.bit_generator
    if type(bits) is not np.random.PCG64 or sys.byteorder != "little" or size == 0:
        drawn: F32 = rng.standard_normal(size, dtype=np.float32, out=out)
        return drawn
    result = np.empty(size, dtype=np.float32) if out is None else out
    start = bits.state
    carry, has_carry = start["uinteger"], bool(start["has_uint32"])
    raw = bits.random_raw(size // 2 + (size >> _MARGIN_SHIFT) + _MARGIN)
    words = raw.view(np.uint32)
    used = int(ziggurat_jit(words, np.uint32(carry), has_carry, result))
    bits.state = start
    if used < 0:  # many rejections: let numpy draw them
        drawn = rng.standard_normal(size, dtype=np.float32, out=result)
        return drawn
    bits.advance((used + 1) // 2)  # (resets the kept half: set below)
    end = bits.state
    if used % 2:  # the high half of the last output is kept for the next call
        end["has_uint32"], end["uinteger"] = 1, int(words[used])
    else:  # numpy leaves the last kept half in place once it is used
        end["has_uint32"] = 0
        end["uinteger"] = int(words[used - 1]) if used > 0 else carry
    bits.state = end
    return result
