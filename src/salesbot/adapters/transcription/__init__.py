"""Speech to text: any OpenAI-compatible `/audio/transcriptions` endpoint."""

from salesbot.adapters.transcription.openai_audio import OpenAITranscriber

__all__ = ["OpenAITranscriber"]
