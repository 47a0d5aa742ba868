"""How a number becomes a sentence: findings, verdicts, tables, figures, published values."""
