"""cliptail.figures"""
