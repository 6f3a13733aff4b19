"""How much memory this process may still use, the up-front memory check, and human-readable sizes/durations.

Why: a sweep asked for arrays that cannot fit (`--trials 10000000000`) must be refused before numpy tries to
allocate them, with one line that gives both the estimate and what the machine has, instead of a
MemoryError traceback minutes later or the kernel's OOM killer. "Available" is the smallest of
- `MemAvailable` from /proc/meminfo (what the kernel can hand out without swapping), falling back to
  `os.sysconf` free pages where /proc is missing;
- the cgroup memory limit minus current usage (containers: /proc/meminfo shows the host there);
- the soft RLIMIT_AS (`ulimit -v`) minus this process's current address space.
Any source that cannot be read is skipped; if none can, the check is skipped (never a false refusal).

`format_bytes` uses decimal units (GB = 10⁹ bytes), like the memory sizes users read from `free -h`-style
tools and vendors; `format_duration` is for announcing long runs ("about 3 min 20 s").
Nothing here prints.
"""

from __future__ import annotations

import os

from resnet_cli.errors import UserError

__all__ = ["available_memory_bytes", "check_memory", "format_bytes", "format_duration"]


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    parts = line.split()
                    return int(parts[1]) * 1024  # the kernel reports kB (KiB)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _sysconf_available() -> int | None:
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    if pages < 0 or size <= 0:
        return None
    return int(pages) * int(size)


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            text = fh.read().strip()
    except OSError:
        return None
    if not text or text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _cgroup_available() -> int | None:
    """Limit minus usage of this process's memory cgroup (v2, then v1); None when unlimited or unknown."""
    # cgroup v2: find our group from /proc/self/cgroup ("0::/some/path").
    group = ""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("0::"):
                    group = line[3:].strip()
                    break
    except OSError:
        pass
    candidates = []
    if group:
        candidates.append(os.path.join("/sys/fs/cgroup", group.lstrip("/")))
    candidates.append("/sys/fs/cgroup")
    for base in candidates:
        limit = _read_int(os.path.join(base, "memory.max"))
        if limit is not None:
            usage = _read_int(os.path.join(base, "memory.current")) or 0
            return max(limit - usage, 0)
    # cgroup v1: an "unlimited" limit is a huge number (PAGE_COUNTER_MAX), larger than any real machine.
    limit = _read_int("/sys/fs/cgroup/memory/memory.limit_in_bytes")
    if limit is not None and limit < 1 << 60:
        usage = _read_int("/sys/fs/cgroup/memory/memory.usage_in_bytes") or 0
        return max(limit - usage, 0)
    return None


def _rlimit_available() -> int | None:
    """Soft RLIMIT_AS minus this process's current virtual size; None when unlimited or unknown."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    used = 0
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    used = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    return max(int(soft) - used, 0)


def available_memory_bytes() -> int | None:
    """Bytes this process can still allocate without swapping or hitting a limit; None if unknown."""
    physical = _meminfo_available()
    if physical is None:
        physical = _sysconf_available()
    known = [v for v in (physical, _cgroup_available(), _rlimit_available()) if v is not None]
    return min(known) if known else None


def check_memory(nbytes: float, what: str, *, available: int | None = None) -> None:
    """Refuse, before allocating, work whose arrays need more than the available memory.

    `what` names the option responsible, e.g. ``"--trials 10000000000"``; the UserError reads
    "--trials 10000000000: the arrays would need ~80 GB, this machine has 21 GB available".
    `available` overrides the measurement (tests). Unknown availability never refuses.
    """
    avail = available_memory_bytes() if available is None else available
    if avail is None:
        return
    if nbytes > avail:
        raise UserError(
            f"{what}: the arrays would need ~{format_bytes(nbytes)}, "
            f"this machine has {format_bytes(avail)} available"
        )


_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def format_bytes(nbytes: float) -> str:
    """Decimal, two significant figures at most below 10 of a unit: 512 B, 1.5 MB, 80 GB, 1200 PB."""
    value = float(nbytes)
    if value != value or value < 0:  # nan or negative: nothing sensible to say
        return f"{nbytes} B"
    unit = 0
    while value >= 1000 and unit < len(_UNITS) - 1:
        value /= 1000
        unit += 1
    if unit == 0:
        return f"{int(round(value))} B"
    if value < 10:
        text = f"{value:.1f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.0f}"
        if text == "1000" and unit < len(_UNITS) - 1:  # 999.6 MB rounds up to the next unit
            return f"1 {_UNITS[unit + 1]}"
    return f"{text} {_UNITS[unit]}"


def format_duration(seconds: float) -> str:
    """Short human duration, the one format of every duration the CLI prints (estimates, progress lines):
    "<1 s", "45 s", "3 min 20 s", "2 h 05 min", "3 d 4 h", "4.8 years"."""
    s = float(seconds)
    if s != s or s < 0:
        return "unknown"
    if s < 1:
        return "<1 s"
    if s >= 1000 * 365.25 * 86400:  # (also inf: no integer for it)
        return "more than 1000 years"
    total = int(round(s))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    if days >= 365:
        return f"{days / 365.25:.1f} years"
    return f"{days} d {hours} h" if hours else f"{days} d"
