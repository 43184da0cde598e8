"""verif/systolic_array"""
