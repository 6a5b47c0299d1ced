"""PPO training (``python train.py``): the trainer, its callbacks, behaviour cloning from a
heuristic teacher, checkpoint selection (``artic-rl select``) and the structured configs."""
