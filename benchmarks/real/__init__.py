"""Real-data benchmark: our models side by side with reference models and RecTools on one warehouse."""
