"""cliptail.data"""
