"""Backbone fine-tuning experiment (not shipped; its figures are in the model card): python -m experiments.finetune --help"""
