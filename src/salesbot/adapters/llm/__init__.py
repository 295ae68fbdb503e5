"""The language model adapter: OpenRouter or any OpenAI-compatible chat completions API."""

from salesbot.adapters.llm.openrouter import OpenRouterModel

__all__ = ["OpenRouterModel"]
