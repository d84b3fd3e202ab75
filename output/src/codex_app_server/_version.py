__version__ = "0.163.0"
