"""cliptail.train"""
