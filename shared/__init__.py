"""The pipeline's core: everything the functions and the dev host share. Never imports azure.functions."""
