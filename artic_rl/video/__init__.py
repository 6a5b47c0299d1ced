"""artic_rl.video: the real video path (PyAV encoder, ROI, synthetic clips, profiler, CodecProfile).

``CodecProfile`` is what the environment uses; the encoder, clips and profiler need PyAV and are
imported from their modules (``artic_rl.video.encoder`` etc.).
"""

from artic_rl.video.profile import CodecProfile
from artic_rl.video.roi import ROI_LEVELS, Region

__all__ = ["ROI_LEVELS", "CodecProfile", "Region"]
