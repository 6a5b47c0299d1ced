"""What a real receiver decides, once, for the simulator's timeline and the real-time streamer.

Pure and clock-injected (every method takes ``now_ms``; nothing reads a clock or a socket):

- :class:`~artic_rl.receiver.chain.DecodeChain`: Artic's loss-resilient decode rule and its
  keyframe requests; :class:`~artic_rl.receiver.chain.DecodeLog`: the decodable frames in order.
- :class:`~artic_rl.receiver.questions.QuestionBook`: the cloud's questions, the region it knows
  ``roi_lead_ms`` ahead, the question awaiting its answer, and the frame that answers it.
- :class:`~artic_rl.receiver.sampler.MllmSampler`: the MLLM's periodic samples of the freshest frame.
- :class:`~artic_rl.receiver.loss.LossNotice`: when the ``artic`` receiver notices a lost packet.
- :mod:`~artic_rl.receiver.webrtc`: libwebrtc's receive side (NACK, in-order decoding, jitter
  buffer, render timing, freeze keyframe requests), for ``receiver=webrtc``.
"""

from artic_rl.receiver.chain import DecodeChain, DecodeLog
from artic_rl.receiver.questions import QuestionBook
from artic_rl.receiver.sampler import MllmSample, MllmSampler

__all__ = ["DecodeChain", "DecodeLog", "MllmSample", "MllmSampler", "QuestionBook"]
