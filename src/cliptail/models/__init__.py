"""cliptail.models"""
