"""A sandbox per learner kernel for autograde (issue #12): see manager.py, and inside.py for what runs in it."""

from .manager import SandboxedExecute, SandboxKernelManager

__all__ = ["SandboxKernelManager", "SandboxedExecute"]
