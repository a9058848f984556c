"""802.11 OFDM tone tables: which entries of a tool's CSI buffer are data subcarriers.

Tone (subcarrier) indices are signed, 0 = DC, spacing 312.5 kHz. Occupied tones per
frame format and bandwidth (IEEE 802.11-2016 / 802.11ac):

====================  ===================  ==========================  ====
format, bandwidth     occupied             pilots                      data
====================  ===================  ==========================  ====
legacy (L-LTF) 20     +-1..+-26            +-7, +-21                   48
HT/VHT 20             +-1..+-28            +-7, +-21                   52
HT/VHT 40             +-2..+-58            +-11, +-25, +-53            108
VHT 80                +-2..+-122           +-11, +-39, +-75, +-103     234
====================  ===================  ==========================  ====

Readers keep the data tones only, in ascending tone order: guard tones (the band edges
an FFT buffer includes), the null tones around DC and the pilots are dropped (nexmon_csi
shows why: its pilot entries are scaled differently from their neighbours). The Intel
5300's 30 grouped tones are the exception: the NIC reports them as they are and they are
kept as they are (the paper's layout).
"""

from __future__ import annotations

import numpy as np

_OCCUPIED = {  # (kind, bandwidth MHz) -> (lowest |tone|, highest |tone|)
    ("legacy", 20): (1, 26),
    ("ht", 20): (1, 28),
    ("ht", 40): (2, 58),
    ("vht", 20): (1, 28),
    ("vht", 40): (2, 58),
    ("vht", 80): (2, 122),
}
_PILOTS = {20: (7, 21), 40: (11, 25, 53), 80: (11, 39, 75, 103)}


def occupied_tones(bandwidth_mhz: int, kind: str = "ht") -> np.ndarray:
    """int (N,) ascending occupied tones (data + pilots) of a format; ``kind`` 'legacy', 'ht' or 'vht'."""
    key = (kind, bandwidth_mhz)
    if key not in _OCCUPIED:
        raise ValueError(f"no tone table for {kind} {bandwidth_mhz} MHz")
    lo, hi = _OCCUPIED[key]
    pos = np.arange(lo, hi + 1)
    return np.concatenate([-pos[::-1], pos])


def pilot_tones(bandwidth_mhz: int) -> np.ndarray:
    """int ascending pilot tones of a bandwidth (the same for legacy, HT and VHT)."""
    p = np.asarray(_PILOTS[bandwidth_mhz])
    return np.concatenate([-p[::-1], p])


def data_tones(bandwidth_mhz: int, kind: str = "ht") -> np.ndarray:
    """int ascending data tones (occupied minus pilots)."""
    occ = occupied_tones(bandwidth_mhz, kind)
    return occ[~np.isin(occ, pilot_tones(bandwidth_mhz))]


def fft_order(nfft: int) -> np.ndarray:
    """Tone index of each entry of an FFT-ordered buffer: 0..nfft/2-1, then -nfft/2..-1."""
    half = nfft // 2
    return np.concatenate([np.arange(half), np.arange(-half, 0)])


def centred_order(n: int) -> np.ndarray:
    """Tone index of each entry of a buffer ordered from -n/2 to n/2-1."""
    return np.arange(n) - n // 2


def select_tones(buffer_tones: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Buffer entries (int64 (len(wanted),)) holding each wanted tone, in ``wanted``'s order.

    Raises ValueError when a wanted tone is not in the buffer (a programming error: the
    tables above are chosen per buffer layout).
    """
    buf = np.asarray(buffer_tones)
    where = {int(t): i for i, t in enumerate(buf)}
    missing = [int(t) for t in wanted if int(t) not in where]
    if missing:
        raise ValueError(f"tones {missing[:5]} are not in the buffer")
    return np.asarray([where[int(t)] for t in wanted], dtype=np.int64)


def describe_kept(total: int, tones: np.ndarray, label: str) -> str:
    """A note such as ``kept 52 data subcarriers of 56 (HT 20 MHz: tones -28..28 without DC and pilots)``."""
    t = np.asarray(tones)
    return (
        f"kept {t.size} data subcarriers of the {total} the tool records ({label}: tones {int(t[0])}..{int(t[-1])}; "
        "guard, DC and pilot tones dropped)"
    )
