"""Gymnasium environments, installed as ``artic_rl.envs``.

Importing this package registers ``artic/VideoChat-v0`` (the Gymnasium convention; nothing is
loaded until ``gymnasium.make`` builds the environment).
"""

from gymnasium.envs.registration import register, registry

ENV_ID = "artic/VideoChat-v0"

if ENV_ID not in registry:
    register(
        id=ENV_ID, entry_point="artic_rl.envs.video_chat:VideoChatEnv", disable_env_checker=True
    )

__all__ = ["ENV_ID"]
