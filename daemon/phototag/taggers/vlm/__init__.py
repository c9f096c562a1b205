"""The OpenAI-compatible vision-language-model tagger."""
