"""Every network of every paper the book reproduces."""
