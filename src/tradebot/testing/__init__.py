"""The broker conformance kit: numbered cases every broker plugin must pass before it touches money."""
