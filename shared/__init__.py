"""The pipeline's core, shared by the functions and the dev host.

It never imports azure.functions."""
