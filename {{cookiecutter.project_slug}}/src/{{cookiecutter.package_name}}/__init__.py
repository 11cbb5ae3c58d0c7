"""{{ cookiecutter.project_name }}.

The ML lifecycle: features, training, validation, promotion and batch inference.
"""
