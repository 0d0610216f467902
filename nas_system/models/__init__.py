"""Model families; model.py picks one by config['model']['family']."""
