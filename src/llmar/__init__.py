"""llmar: LLM-AR, a pretrained large language model as a skeleton-based action recognizer."""

__version__ = "0.3.0"

__all__ = ["Recognizer", "Config", "__version__"]


def __getattr__(name):  # lazy: `import llmar` stays fast and torch-free until needed
    if name == "Recognizer":
        from llmar.api import Recognizer

        return Recognizer
    if name == "Config":
        from llmar.config import Config

        return Config
    raise AttributeError(name)
