"""nbstream: watch and steer a tool-using LLM from a Jupyter notebook."""
